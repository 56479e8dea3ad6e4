package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Memory is what the kernel reports of a process's resident memory.
type Memory struct {
	// Process names the process: worker, api, bench.
	Process string `json:"process"`
	PID     int    `json:"pid"`
	// PeakBytes is VmHWM: the largest resident set since the process started.
	PeakBytes int64 `json:"peak_bytes"`
	// RSSBytes is VmRSS: the resident set when it was read.
	RSSBytes int64 `json:"rss_bytes"`
}

// ReadMemory reads VmHWM and VmRSS from /proc/PID/status (Linux only).
func ReadMemory(process string, pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("memory of %s (pid %d): %w", process, pid, err)
	}
	defer f.Close()
	m, err := parseStatus(f)
	if err != nil {
		return Memory{}, fmt.Errorf("memory of %s (pid %d): %w", process, pid, err)
	}
	m.Process, m.PID = process, pid
	return m, nil
}

// parseStatus reads the VmHWM and VmRSS lines ("VmRSS:   123456 kB").
func parseStatus(r io.Reader) (Memory, error) {
	var m Memory
	var seenHWM, seenRSS bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) != 2 || fields[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("unexpected %s line %q: %w", key, sc.Text(), err)
		}
		if key == "VmHWM" {
			m.PeakBytes, seenHWM = kb*1024, true
		} else {
			m.RSSBytes, seenRSS = kb*1024, true
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if !seenHWM || !seenRSS {
		// Kernel threads and zombies have no memory lines.
		return m, fmt.Errorf("no VmHWM/VmRSS lines (process gone?)")
	}
	return m, nil
}

// ThisMachine describes the machine the bench runs on.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		m.MemTotal = parseMemTotal(f)
	}
	return m
}

// parseMemTotal reads "MemTotal:  24576000 kB" from /proc/meminfo.
func parseMemTotal(r io.Reader) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// LoadAverage is the 1-minute load average from /proc/loadavg (0 if unknown).
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
