package bench

import (
	"os"
	"testing"
)

func TestParseStatTicks(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 12 0 1000 2000000 5000"
	got, err := parseStatTicks(line)
	if err != nil || got != 325 {
		t.Fatalf("parseStatTicks = %d, %v; want 325 (250 utime + 75 stime)", got, err)
	}
	if _, err := parseStatTicks("4242 (short) S 1 2"); err == nil {
		t.Fatal("a truncated line must be an error")
	}
}

func TestCPUTicksOfThisProcess(t *testing.T) {
	if _, err := cpuTicks(os.Getpid()); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
}

func TestSnapshotSince(t *testing.T) {
	before := cpuSnapshot{"worker": {10: 100}, "postgres (this database's backends)": {20: 50, 21: 10}}
	after := cpuSnapshot{"worker": {10: 300}, "api": {11: 150}, "postgres (this database's backends)": {20: 80, 22: 20}}
	got := after.since(before, 10)
	want := []CPUShare{
		{Process: "api", Seconds: 1.5, PerLifecycleMs: 150},                                // new: counted from its start
		{Process: "worker", Seconds: 2, PerLifecycleMs: 200},                               // 200 ticks
		{Process: "postgres (this database's backends)", Seconds: 0.5, PerLifecycleMs: 50}, // 30 + 20 (new backend)
	}
	if len(got) != len(want) {
		t.Fatalf("since = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("share %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
