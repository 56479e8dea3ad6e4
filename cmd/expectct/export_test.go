package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fakeCSV = "\uFEFFIdentifiant;Collectivité\r\nEXP-A;Commune de Saint-Étienne\r\n"

func TestExportToFile(t *testing.T) {
	api := newFakeAPI(t, map[string][]fakeReply{
		"GET /v1/exports/applications": {{contentType: "text/csv; charset=utf-8", body: fakeCSV}},
	})
	dir := t.TempDir()
	file := filepath.Join(dir, "dossiers.csv")
	_, stderr, err := runCLI(t, api.srv.URL, "export", "--status", "approved", "--country", "SN", "--year", "2026", "--siren", "214401093", "-o", file)
	if err != nil {
		t.Fatalf("export: %v %s", err, stderr)
	}
	q, _ := url.ParseQuery(api.only().Query)
	want := url.Values{"format": {"csv"}, "status": {"approved"}, "country": {"SN"}, "year": {"2026"}, "siren": {"214401093"}}
	if q.Encode() != want.Encode() {
		t.Errorf("query %s, want %s", q.Encode(), want.Encode())
	}
	got, err := os.ReadFile(file)
	if err != nil || string(got) != fakeCSV {
		t.Errorf("file %q, %v", got, err)
	}
	assertOutContains(t, "stderr", stderr, "export written to "+file)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files left in the directory, want the export alone", len(entries))
	}
}

func TestExportToStdout(t *testing.T) {
	api := newFakeAPI(t, map[string][]fakeReply{
		"GET /v1/exports/applications": {{contentType: "application/x-ndjson", body: "{\"application_id\":\"EXP-A\"}\n"}},
	})
	stdout, _, err := runCLI(t, api.srv.URL, "export", "--format", "jsonl")
	if err != nil || stdout != "{\"application_id\":\"EXP-A\"}\n" {
		t.Fatalf("stdout %q, %v", stdout, err)
	}
	if q := api.only().Query; q != "format=jsonl" {
		t.Errorf("query %q", q)
	}
}

func TestExportRefusedLeavesNoFile(t *testing.T) {
	api := newFakeAPI(t, map[string][]fakeReply{
		"GET /v1/exports/applications": {{status: 422, contentType: "application/problem+json",
			body: `{"title":"Données invalides / Invalid data","status":422,"errors":[{"field":"year","rule":"range","message_fr":"year doit être comprise entre 2020 et 2026","message_en":"year must be from 2020 to 2026"}]}`}},
	})
	dir := t.TempDir()
	_, stderr, err := runCLI(t, api.srv.URL, "export", "--year", "1999", "-o", filepath.Join(dir, "x.csv"))
	if err == nil {
		t.Fatal("a refused export succeeded")
	}
	assertOutContains(t, "stderr", stderr, "422", "year (range)", "entre 2020 et 2026", "from 2020 to 2026")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left: %v", entries)
	}
	if strings.Contains(stderr, "written") {
		t.Errorf("stderr: %s", stderr)
	}
}
