package activities

import (
	"github.com/daect/expectct/internal/letters"
	"github.com/daect/expectct/internal/lifecycle"
)

// letterOf is the letter an e-mail carries: the decision letter goes to
// the applicant with the decision (the embassy in copy sees it too). The
// outbox row keeps its kind; the relay renders it from the journal row
// when it sends the e-mail.
func letterOf(spec lifecycle.MailSpec) string {
	if spec.To != lifecycle.ToApplicant {
		return ""
	}
	return string(letters.OfMail(spec.Template))
}
