package apiclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/daect/expectct/internal/lifecycle"
)

// AttachmentHashHeader carries a downloaded file's SHA-256.
const AttachmentHashHeader = "Expectct-Attachment-Sha256"

// UploadAttachment uploads one file of the mission report; the answer's ID
// is what the report names. The API detects the type from the content.
func (c *Client) UploadAttachment(ctx context.Context, id, name string, data []byte) (*lifecycle.Attachment, error) {
	u, err := c.url(appPath(id, "report/attachments"), url.Values{"name": {name}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", UserAgent)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	status, _, raw, err := c.do(req)
	if err != nil {
		return nil, err
	}
	var a lifecycle.Attachment
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("POST %s: unexpected answer (%d): %w", req.URL.Path, status, err)
	}
	return &a, nil
}

// AttachmentFile is a downloaded file of the report.
type AttachmentFile struct {
	Data      []byte
	Name      string
	MediaType string
	SHA256    string
}

// Attachment downloads a file of the application's report, and checks it
// is the file the API says it holds (its SHA-256).
func (c *Client) Attachment(ctx context.Context, id, attachment string) (*AttachmentFile, error) {
	u, err := c.url(appPath(id, "report/attachments/"+url.PathEscape(attachment)), nil)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", UserAgent)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	_, header, raw, err := c.do(req)
	if err != nil {
		return nil, err
	}
	f := &AttachmentFile{Data: raw, MediaType: header.Get("Content-Type"), SHA256: header.Get(AttachmentHashHeader)}
	if _, params, err := mime.ParseMediaType(header.Get("Content-Disposition")); err == nil {
		f.Name = params["filename"]
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
		return nil, fmt.Errorf("GET %s: the file received has SHA-256 %s, the API announced %q", req.URL.Path, got, f.SHA256)
	}
	return f, nil
}
