package apiclient

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/daect/expectct/internal/dossier"
)

// LetterVerification is what the public verify endpoint confirms of a letter.
type LetterVerification struct {
	ApplicationID string        `json:"application_id"`
	Kind          string        `json:"kind"`
	Collectivite  string        `json:"collectivite"`
	Amount        dossier.Money `json:"amount"`
	Date          string        `json:"date"`
	SignedBy      string        `json:"signed_by"`
}

// LetterFile is a downloaded letter.
type LetterFile struct {
	PDF []byte
	// Code is the verification code printed on it.
	Code string
}

// LetterCodeHeader carries a downloaded letter's verification code.
const LetterCodeHeader = "Expectct-Letter-Code"

// Letter downloads an application's letter of this kind (approval,
// refusal, payment_statement) as PDF.
func (c *Client) Letter(ctx context.Context, id, kind string) (*LetterFile, error) {
	u, err := c.url(appPath(id, "letters/"+url.PathEscape(kind)), nil)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/pdf, application/problem+json")
	req.Header.Set("User-Agent", UserAgent)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	status, header, raw, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/pdf" {
		return nil, fmt.Errorf("GET %s: unexpected answer (%d, %s): not a PDF", req.URL.Path, status, header.Get("Content-Type"))
	}
	return &LetterFile{PDF: raw, Code: header.Get(LetterCodeHeader)}, nil
}

// VerifyLetter asks the public endpoint whether a letter's code is genuine.
// It needs no token.
func (c *Client) VerifyLetter(ctx context.Context, code string) (*Response[LetterVerification], error) {
	return call[LetterVerification](ctx, c, http.MethodGet, "/v1/letters/verify/"+url.PathEscape(code), nil, http.Header{}, nil)
}
