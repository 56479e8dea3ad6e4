package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// CPUShare is the processor time one process (or group) used during a run.
type CPUShare struct {
	Process string  `json:"process"`
	Seconds float64 `json:"cpu_seconds"`
	// PerLifecycleMs is Seconds spread over the run's completed lifecycles.
	PerLifecycleMs float64 `json:"cpu_ms_per_lifecycle"`
}

// cpuProbe reads the processor time of the processes taking part in a run:
// CPU time, unlike wall time, is what a process itself cost, even on a
// machine busy with other work.
type cpuProbe struct {
	procs map[string]int // name → pid
	// db, when set, finds the PostgreSQL backends serving the database.
	db     *pgxpool.Pool
	dbName string
}

// cpuSnapshot is the processor time, in ticks, per process name and pid.
type cpuSnapshot map[string]map[int]int64

func (p *cpuProbe) snapshot(ctx context.Context) cpuSnapshot {
	s := cpuSnapshot{}
	for name, pid := range p.procs {
		if t, err := cpuTicks(pid); err == nil {
			s[name] = map[int]int64{pid: t}
		}
	}
	if p.db != nil {
		rows, err := p.db.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1`, p.dbName)
		if err == nil {
			backends := map[int]int64{}
			for rows.Next() {
				var pid int
				if rows.Scan(&pid) == nil {
					if t, err := cpuTicks(pid); err == nil {
						backends[pid] = t
					}
				}
			}
			rows.Close()
			s["postgres (this database's backends)"] = backends
		}
	}
	return s
}

// since is the processor time used from before to s, per process name; a
// pid absent before (a new connection) counts from its start.
func (s cpuSnapshot) since(before cpuSnapshot, lifecycles int) []CPUShare {
	var out []CPUShare
	for _, name := range sortedNames(s) {
		var ticks int64
		for pid, t := range s[name] {
			ticks += t - before[name][pid]
		}
		c := CPUShare{Process: name, Seconds: round2(float64(ticks) / clockTicks)}
		if lifecycles > 0 {
			c.PerLifecycleMs = round2(c.Seconds * 1000 / float64(lifecycles))
		}
		out = append(out, c)
	}
	return out
}

func sortedNames(s cpuSnapshot) []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	// The engine's processes first, then the infrastructure, then the bench.
	rank := func(n string) int {
		for i, p := range []string{"api", "worker", "temporal", "postgres", "mailpit", "bench"} {
			if strings.HasPrefix(n, p) {
				return i
			}
		}
		return 99
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
	})
	return names
}

// cpuTicks is utime+stime of a process, from /proc/PID/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(string(b))
}

// parseStatTicks reads fields 14 and 15 (utime, stime) of a stat line. The
// command name, field 2, may hold spaces and parentheses: count from the
// last ')'.
func parseStatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat line")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is field 14, f[11].
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed stat line")
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return u + s, nil
}

// childrenNamed finds the direct children of this process whose executable
// has the given base name (the Temporal dev server, Mailpit).
func childrenNamed(name string) []int {
	self := os.Getpid()
	entries, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, e := range entries {
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		stat := string(b)
		open, closing := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		if open < 0 || closing < open {
			continue
		}
		f := strings.Fields(stat[closing+1:])
		if len(f) < 2 || stat[open+1:closing] != name {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil && ppid == self {
			pid, _ := strconv.Atoi(strings.Fields(stat)[0])
			pids = append(pids, pid)
		}
	}
	return pids
}
