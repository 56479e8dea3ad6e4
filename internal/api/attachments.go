package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/daect/expectct/internal/attachments"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// The report's files. An upload's body is the file itself, its name in the
// name query parameter: the bytes are read once, through the per-file limit,
// hashed and sniffed as they are, and a Content-Length over the limit is
// refused before anything is read. A multipart form would carry a part
// Content-Type we would ignore anyway, and its parser spills large parts to
// temporary files, a second copy to bound and clean up.
const (
	attachmentsPath = "/v1/applications/{id}/report/attachments"
	attachmentPath  = attachmentsPath + "/{attachment}"
	// attachmentHashHeader gives a downloaded file's SHA-256, as the
	// journal holds it.
	attachmentHashHeader = "Expectct-Attachment-Sha256"
)

// bodyLimit is how much of a request's body a route reads: a file of the
// report may be as large as the rules allow, other bodies as configured.
func (s *Server) bodyLimit(rt route) int64 {
	if rt.method == http.MethodPost && rt.path == attachmentsPath {
		return s.Rules.Attachments.FileBytes()
	}
	if n := bodyLimits[rt.method+" "+rt.path]; n > 0 {
		return n
	}
	return s.MaxBodyBytes
}

func fileError(rule, fr, en string) *dossier.ValidationError {
	return &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: []dossier.FieldError{{Field: "file", Rule: rule, MessageFR: fr, MessageEN: en}}}
}

func (s *Server) fileTooLarge() error {
	most := s.Rules.Attachments.FileBytes()
	return &dossier.ValidationError{Kind: dossier.KindTooLarge, Fields: []dossier.FieldError{{Field: "file", Rule: "max_size",
		MessageFR: fmt.Sprintf("Le fichier dépasse %d octets, le plus que permettent les règles du programme", most),
		MessageEN: fmt.Sprintf("The file exceeds %d bytes, the most the programme rules allow", most)}}}
}

// uploadAttachment stores one file of the report while the report is
// awaited, for the applicant of the application's collectivité.
func (s *Server) uploadAttachment(r *request) (int, any, error) {
	if err := s.inScope(r); err != nil {
		return 0, nil, err
	}
	st, err := s.storedState(r.Context(), r.appID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, errConflict("le compte rendu n'est pas attendu : les fichiers se déposent une fois la mission terminée / " +
			"the report is not awaited: files are uploaded once the mission is over")
	}
	if err != nil {
		return 0, nil, err
	}
	if !slices.Contains(lifecycle.AwaitingReport, st.Status) {
		return 0, nil, errConflict(fmt.Sprintf("le compte rendu n'est pas attendu (statut %s) / the report is not awaited (status %s)", st.Status, st.Status))
	}
	name := attachments.CleanName(r.URL.Query().Get("name"))
	if name == "" {
		return 0, nil, &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: []dossier.FieldError{{Field: "name", Rule: "required",
			MessageFR: "Le nom du fichier (paramètre name) est obligatoire", MessageEN: "The file's name (parameter name) is required"}}}
	}
	if r.ContentLength > s.Rules.Attachments.FileBytes() {
		return 0, nil, s.fileTooLarge()
	}
	// The body was wrapped in a reader that fails past the limit.
	data, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return 0, nil, s.fileTooLarge()
	}
	if err != nil {
		return 0, nil, decodeErr(err)
	}
	if len(data) == 0 {
		return 0, nil, fileError("required", "Le fichier est vide", "The file is empty")
	}
	mediaType, ok := attachments.Detect(data)
	if !ok {
		return 0, nil, fileError("type",
			fmt.Sprintf("Le contenu du fichier (%s) n'est pas un type accepté : PDF, ODT, DOCX, JPEG ou PNG", mediaType),
			fmt.Sprintf("The file's content (%s) is not an accepted type: PDF, ODT, DOCX, JPEG or PNG", mediaType))
	}
	id, keyed, err := s.uploadID(r, name, data)
	if err != nil {
		return 0, nil, err
	}
	if keyed {
		if a, ok, err := s.storedUpload(r, id); err != nil || ok {
			return http.StatusCreated, a, err
		}
	}
	sum := sha256.Sum256(data)
	a, err := s.Store.AddAttachment(r.Context(), store.Attachment{ID: id, ApplicationID: r.appID,
		SIREN: r.actor.SIREN, UploadedBy: r.actor.ID, Name: name, MediaType: mediaType, Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), Content: data}, s.Rules.Attachments.Uploads())
	if keyed && err != nil && !errors.Is(err, store.ErrTooManyUploads) {
		// A twin request with the same key may have stored it first.
		if a, ok, err2 := s.storedUpload(r, id); err2 == nil && ok {
			return http.StatusCreated, a, nil
		}
	}
	if errors.Is(err, store.ErrTooManyUploads) {
		n := s.Rules.Attachments.Uploads()
		return 0, nil, fileError("max_uploads",
			fmt.Sprintf("%d fichiers ont déjà été déposés pour cette demande : c'est le maximum", n),
			fmt.Sprintf("%d files were already uploaded for this application: that is the most allowed", n))
	}
	if err != nil {
		return 0, nil, err
	}
	s.Log.Info("report attachment uploaded", "application_id", r.appID, "attachment", a.ID, "actor", r.actor.ID,
		"media_type", a.MediaType, "size", a.Size, "sha256", a.SHA256)
	return http.StatusCreated, describe(a), nil
}

func describe(a store.Attachment) lifecycle.Attachment {
	return lifecycle.Attachment{ID: a.ID, Name: a.Name, MediaType: a.MediaType, Size: a.Size, SHA256: a.SHA256}
}

// uploadStep names uploads in the idempotency keys' table.
const uploadStep = "report_attachment"

// uploadID is the ID the file gets. Without an Idempotency-Key it is
// random: a file's ID tells nothing of the file. With one, the key is bound
// to this caller, name and content (another request with it is refused)
// and the ID is derived from the application and the key, so a retried
// upload finds the file it stored rather than storing it twice.
func (s *Server) uploadID(r *request, name string, data []byte) (id string, keyed bool, err error) {
	key, err := idempotencyKey(r)
	if err != nil || key == "" {
		return attachmentID(nil), false, err
	}
	if err := s.bindStepKey(r, uploadStep, key, append([]byte(name+"\x00"), data...)); err != nil {
		return "", false, err
	}
	sum := sha256.Sum256([]byte(r.appID + "\x00" + key))
	return attachmentID(sum[:10]), true, nil
}

// storedUpload describes the application's file id if it is stored.
func (s *Server) storedUpload(r *request, id string) (lifecycle.Attachment, bool, error) {
	stored, err := s.Store.Attachments(r.Context(), r.appID, []string{id})
	if err != nil || len(stored) == 0 {
		return lifecycle.Attachment{}, false, err
	}
	return describe(stored[0]), true, nil
}

// attachmentID spells ten bytes as an ID, random ones when raw is nil.
func attachmentID(raw []byte) string {
	if raw == nil {
		raw = make([]byte, 10)
		_, _ = rand.Read(raw)
	}
	return "ATT-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
}

// downloadAttachment serves a file of the report to whoever may read the
// application, with the type detected at upload and never inline: a file
// is not rendered in the API's origin.
func (s *Server) downloadAttachment(r *request) (int, any, error) {
	if err := s.inScope(r); err != nil {
		return 0, nil, err
	}
	id := r.PathValue("attachment")
	a, err := s.Store.AttachmentContent(r.Context(), r.appID, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, errNotFound(fmt.Sprintf("l'application %s n'a pas de pièce jointe %s / application %s has no attachment %s", r.appID, id, r.appID, id))
	}
	if err != nil {
		return 0, nil, err
	}
	s.Log.Info("report attachment downloaded", "application_id", r.appID, "attachment", a.ID, "actor", r.actor.ID, "role", r.actor.Role)
	return http.StatusOK, file{name: a.Name, contentType: a.MediaType, data: a.Content,
		disposition: mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}),
		header:      http.Header{attachmentHashHeader: {a.SHA256}, "X-Content-Type-Options": {"nosniff"}}}, nil
}

// resolveReport fills the report's attachments, sent as IDs, from the
// stored files: each must be a file of this application uploaded by the
// caller's collectivité. The limits of the rules are checked here so the
// caller learns at once; the workflow checks them again under the
// application's rules. Going over them is 422, as any rule of the report
// (the request itself is small; 413 is for a body too large to read).
func (s *Server) resolveReport(r *request, in lifecycle.ReportInput) (lifecycle.ReportInput, error) {
	if len(in.Report.Attachments) == 0 {
		return in, nil
	}
	// With IDs alone, only their number and repetition can be judged yet.
	if fe := in.Report.AttachmentsBeyond(s.Rules.Attachments); fe != nil {
		return in, &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: []dossier.FieldError{*fe}}
	}
	ids := make([]string, len(in.Report.Attachments))
	for i, a := range in.Report.Attachments {
		ids[i] = a.ID
	}
	stored, err := s.Store.Attachments(r.Context(), r.appID, ids)
	if err != nil {
		return in, err
	}
	byID := make(map[string]store.Attachment, len(stored))
	for _, a := range stored {
		if a.SIREN == r.actor.SIREN {
			byID[a.ID] = a
		}
	}
	out := in
	out.Report.Attachments = make([]lifecycle.Attachment, len(ids))
	var unknown []dossier.FieldError
	for i, id := range ids {
		a, ok := byID[id]
		if !ok {
			unknown = append(unknown, dossier.FieldError{Field: fmt.Sprintf("report.attachments[%d]", i), Rule: "exists",
				MessageFR: fmt.Sprintf("Pièce jointe inconnue %q : déposez le fichier d'abord (POST …/report/attachments)", id),
				MessageEN: fmt.Sprintf("Unknown attachment %q: upload the file first (POST …/report/attachments)", id)})
			continue
		}
		out.Report.Attachments[i] = describe(a)
	}
	if len(unknown) > 0 {
		return in, &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: unknown}
	}
	if fe := out.Report.AttachmentsBeyond(s.Rules.Attachments); fe != nil {
		return in, &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: []dossier.FieldError{*fe}}
	}
	return out, nil
}

// attachmentIDs reads the report's attachments as the client sends them:
// their IDs.
func attachmentIDs(ids []string) []lifecycle.Attachment {
	var out []lifecycle.Attachment
	for _, id := range ids {
		out = append(out, lifecycle.Attachment{ID: strings.TrimSpace(id)})
	}
	return out
}
