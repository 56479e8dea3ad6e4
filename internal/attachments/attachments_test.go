package attachments

import (
	"archive/zip"
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// zipOf writes a ZIP of the named entries in order; the first is stored
// uncompressed, as ODF requires of its mimetype entry.
func zipOf(t *testing.T, entries ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i, e := range entries {
		method := zip.Deflate
		if i == 0 {
			method = zip.Store
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: e[0], Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(e[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func picture(t *testing.T, encode func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.RGBA{R: 0, G: 85, B: 164, A: 255})
	var buf bytes.Buffer
	if err := encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// MinimalPDF is a one-page PDF, as small as a reader accepts.
const minimalPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

func odt(t *testing.T) []byte {
	return zipOf(t, [2]string{"mimetype", ODT}, [2]string{"content.xml", "<office:document-content/>"},
		[2]string{"META-INF/manifest.xml", "<manifest:manifest/>"})
}

func docx(t *testing.T) []byte {
	return zipOf(t, [2]string{"[Content_Types].xml", "<Types/>"}, [2]string{"_rels/.rels", "<Relationships/>"},
		[2]string{"word/document.xml", "<w:document/>"})
}

func TestDetectAccepts(t *testing.T) {
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"pdf":  {[]byte(minimalPDF), PDF},
		"png":  {picture(t, func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) }), PNG},
		"jpeg": {picture(t, func(b *bytes.Buffer, i image.Image) error { return jpeg.Encode(b, i, nil) }), JPEG},
		"odt":  {odt(t), ODT},
		"docx": {docx(t), DOCX},
	} {
		got, ok := Detect(c.data)
		if !ok || got != c.want {
			t.Errorf("%s: Detect = %q, %v; want %q", name, got, ok, c.want)
		}
	}
}

// Whatever the name or header a client gives, these are refused: their
// bytes are none of the accepted types.
func TestDetectRefuses(t *testing.T) {
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), make([]byte, 64)...)
	exe = append(exe, []byte("This program cannot be run in DOS mode.\r\r\n$")...)
	for name, data := range map[string][]byte{
		"windows executable (rapport.pdf)": exe,
		"plain zip (rapport.pdf)":          zipOf(t, [2]string{"rapport.txt", "bonjour"}),
		"odt whose mimetype is not first":  zipOf(t, [2]string{"content.xml", "<x/>"}, [2]string{"mimetype", ODT}),
		"opendocument spreadsheet":         zipOf(t, [2]string{"mimetype", "application/vnd.oasis.opendocument.spreadsheet"}),
		"docx without its document":        zipOf(t, [2]string{"[Content_Types].xml", "<Types/>"}),
		"macro-enabled document (.docm)": zipOf(t, [2]string{"[Content_Types].xml", "<Types/>"}, [2]string{"word/document.xml", "<w:document/>"},
			[2]string{"word/vbaProject.bin", "\xd0\xcf\x11\xe0"}),
		"truncated zip":      docx(t)[:30],
		"text":               []byte("Compte rendu de mission\n"),
		"html":               []byte("<!DOCTYPE html><script>alert(1)</script>"),
		"svg":                []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`),
		"gif":                []byte("GIF89a\x01\x00\x01\x00"),
		"empty":              nil,
		"pdf signature late": []byte(" \n%PDF-1.4"),
	} {
		if got, ok := Detect(data); ok {
			t.Errorf("%s: accepted as %s", name, got)
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"rapport.pdf":                  "rapport.pdf",
		`C:\Users\mairie\photo 1.png`:  "photo 1.png",
		"../../etc/passwd":             "passwd",
		"compte \"rendu\".pdf":         "compte rendu.pdf",
		"ligne\r\nContent-Type: x.pdf": "ligneContent-Type: x.pdf",
		"Réunion à Dakar.odt":          "Réunion à Dakar.odt",
		"":                             "",
		"..":                           "",
		"/":                            "",
	} {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := CleanName(strings.Repeat("é", 300) + ".pdf"); len([]rune(got)) != MaxNameLength {
		t.Errorf("a long name kept %d characters", len([]rune(got)))
	}
}
