// Package attachments holds what the platform accepts as a file of the
// mission report: the types it recognises from a file's own bytes, and the
// names it keeps. A client's Content-Type or file name is never trusted: a
// renamed executable must not be served back to DAECT's staff as a PDF.
package attachments

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The accepted media types.
const (
	PDF  = "application/pdf"
	JPEG = "image/jpeg"
	PNG  = "image/png"
	ODT  = "application/vnd.oasis.opendocument.text"
	DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
)

// Accepted lists the media types in the order the errors name them.
var Accepted = []string{PDF, ODT, DOCX, JPEG, PNG}

// Detect names the file's media type from its content, and tells whether
// it is one the report accepts. PDF, JPEG and PNG are told by their
// signatures (net/http's sniffing, WHATWG algorithm); an OpenDocument text
// is a ZIP whose first entry, stored uncompressed, is "mimetype" holding
// its type (ODF 1.2, part 3, section 3.3); a Word document is a ZIP holding
// "[Content_Types].xml" and "word/document.xml" (ECMA-376, part 2), and no
// macros.
func Detect(b []byte) (string, bool) {
	switch sniffed, _, _ := strings.Cut(http.DetectContentType(b), ";"); sniffed {
	case PDF, JPEG, PNG:
		return sniffed, true
	case "application/zip":
		return detectZip(b)
	default:
		return sniffed, false
	}
}

func detectZip(b []byte) (string, bool) {
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil || len(z.File) == 0 {
		return "application/zip", false
	}
	if first := z.File[0]; first.Name == "mimetype" {
		if rc, err := first.Open(); err == nil {
			// The entry is a few dozen bytes; a bomb posing as one is cut short.
			got, err := io.ReadAll(io.LimitReader(rc, int64(len(ODT))+1))
			_ = rc.Close()
			if err == nil && string(got) == ODT {
				return ODT, true
			}
		}
	}
	var types, document, macros bool
	for _, f := range z.File {
		switch f.Name {
		case "[Content_Types].xml":
			types = true
		case "word/document.xml":
			document = true
		case "word/vbaProject.bin":
			// A macro-enabled document (.docm) is not a DOCX, whatever
			// its name: its macros would reach DAECT's staff.
			macros = true
		}
	}
	if types && document && !macros {
		return DOCX, true
	}
	return "application/zip", false
}

// Extension is the file name extension of an accepted media type.
func Extension(mediaType string) string {
	switch mediaType {
	case PDF:
		return ".pdf"
	case JPEG:
		return ".jpg"
	case PNG:
		return ".png"
	case ODT:
		return ".odt"
	case DOCX:
		return ".docx"
	}
	return ""
}

// MaxNameLength bounds a kept file name, in characters.
const MaxNameLength = 255

// CleanName is the name kept for an uploaded file: its last path element
// (a client may send a whole path), without control characters, quotes or
// backslashes (it goes back out in a Content-Disposition header), cut to
// MaxNameLength characters. It is empty when nothing usable remains.
func CleanName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(strings.TrimSpace(name))
	if name == "." || name == "/" || name == ".." {
		return ""
	}
	var b strings.Builder
	for _, r := range name {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '"' {
			continue
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if utf8.RuneCountInString(out) > MaxNameLength {
		out = string([]rune(out)[:MaxNameLength])
	}
	return out
}
