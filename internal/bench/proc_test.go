package bench

import (
	"os"
	"strings"
	"testing"
)

const statusSample = `Name:	expectct
Umask:	0022
State:	S (sleeping)
VmPeak:	 1814004 kB
VmSize:	 1814004 kB
VmHWM:	  131072 kB
VmRSS:	   65536 kB
RssAnon:	   40000 kB
Threads:	12
`

func TestParseStatus(t *testing.T) {
	m, err := parseStatus(strings.NewReader(statusSample))
	if err != nil {
		t.Fatal(err)
	}
	if m.PeakBytes != 128<<20 || m.RSSBytes != 64<<20 {
		t.Fatalf("peak %d, rss %d; want %d and %d", m.PeakBytes, m.RSSBytes, 128<<20, 64<<20)
	}
}

func TestParseStatusWithoutMemoryLines(t *testing.T) {
	if _, err := parseStatus(strings.NewReader("Name:\tkthreadd\nState:\tS (sleeping)\n")); err == nil {
		t.Fatal("a status without VmHWM/VmRSS must be an error")
	}
	if _, err := parseStatus(strings.NewReader("VmHWM:\t12 MB\nVmRSS:\t1 kB\n")); err == nil {
		t.Fatal("an unexpected unit must be an error")
	}
}

func TestReadMemoryOfThisProcess(t *testing.T) {
	m, err := ReadMemory("test", os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.RSSBytes <= 0 || m.PeakBytes < m.RSSBytes || m.PID != os.Getpid() || m.Process != "test" {
		t.Fatalf("implausible memory of this process: %+v", m)
	}
}

func TestParseMemTotal(t *testing.T) {
	got := parseMemTotal(strings.NewReader("MemTotal:       24683648 kB\nMemFree:        19210240 kB\n"))
	if got != 24683648*1024 {
		t.Fatalf("MemTotal = %d", got)
	}
}

func TestEmbeddedDossierIsTheExample(t *testing.T) {
	example, err := os.ReadFile("../../examples/dossier.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(example) != string(ExampleDossier) {
		t.Fatal("internal/bench/dossier.json differs from examples/dossier.json: copy it again")
	}
}
