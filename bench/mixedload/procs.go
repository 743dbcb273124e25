package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// watchedProc is one named process as the sampler saw it. A restart gives
// the name a new pid; its CPU is the sum over every pid seen.
type watchedProc struct {
	Name       string
	pids       []int
	firstTicks map[int]int64
	lastTicks  map[int]int64
	hwmKB      map[int]int64 // last VmHWM read per pid
	rssSamples []int64
	curRSS     int64
	sampled    bool // sampled at least once
	children   bool // had live children: memory is the sampled sum
}

func (p *watchedProc) cpuSeconds() float64 {
	var t int64
	for pid, last := range p.lastTicks {
		t += last - p.firstTicks[pid]
	}
	return float64(t) / clockTicks
}

// Sampler watches processes named by -proc flags and by a pid file of
// "PID NAME …" lines (test/stack's var/dev.pids), reread at every sample so
// a restarted AppView is followed.
type Sampler struct {
	fixed   map[string]int
	pidFile string
	every   time.Duration
	curve   time.Duration

	mu     sync.Mutex
	procs  map[string]*watchedProc
	order  []string
	start  time.Time
	points []CurvePoint
}

// CurvePoint is every process's VmRSS at one moment.
type CurvePoint struct {
	At  time.Duration
	RSS map[string]int64 // kB
}

func (s *Sampler) current() map[string]int {
	out := map[string]int{}
	for name, pid := range s.fixed {
		out[name] = pid
	}
	if s.pidFile == "" {
		return out
	}
	data, err := os.ReadFile(s.pidFile)
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		if pid, err := strconv.Atoi(f[0]); err == nil && pid > 0 {
			out[f[1]] = pid
		}
	}
	return out
}

// reset sets every watched process's VmHWM back to its current RSS (Linux
// clear_refs 5), so the VmHWM read at the end is this run's peak.
func (s *Sampler) reset() []string {
	var failed []string
	for name, pid := range s.current() {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			failed = append(failed, name)
		}
	}
	slices.Sort(failed)
	return failed
}

// sample reads each process's ticks, VmRSS and VmHWM once. A process's
// live children count with it (PostgreSQL's backends are the postmaster's
// children): their CPU is added, and their VmRSS summed with the parent's —
// shared pages (PostgreSQL's shared buffers) are then counted in each, so the
// sum is an upper bound.
func (s *Sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, pid := range s.current() {
		ticks, err := readTicks(pid)
		if err != nil {
			continue // gone (a restart in progress)
		}
		p := s.procs[name]
		if p == nil {
			p = &watchedProc{Name: name, firstTicks: map[int]int64{}, lastTicks: map[int]int64{}, hwmKB: map[int]int64{}}
			s.procs[name] = p
			s.order = append(s.order, name)
		}
		if _, seen := p.firstTicks[pid]; !seen {
			p.firstTicks[pid] = ticks
			p.pids = append(p.pids, pid)
		}
		p.lastTicks[pid] = ticks
		rss, hwm := readStatusKB(pid)
		for _, child := range readChildren(pid) {
			t, err := readTicks(child)
			if err != nil {
				continue
			}
			if _, seen := p.firstTicks[child]; !seen {
				// A child born during the run started from zero ticks; one
				// there before the run is counted from its first sample.
				p.firstTicks[child] = t
				if p.sampled {
					p.firstTicks[child] = 0
				}
				p.children = true
			}
			p.lastTicks[child] = t
			r, _ := readStatusKB(child)
			rss += r
		}
		p.sampled = true
		if rss > 0 {
			p.rssSamples = append(p.rssSamples, rss)
			p.curRSS = rss
		}
		if hwm > 0 {
			p.hwmKB[pid] = hwm
		}
	}
}

// readChildren lists pid's live children (Linux 3.5+ with
// CONFIG_PROC_CHILDREN; none when unreadable).
func readChildren(pid int) []int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for f := range strings.FieldsSeq(string(data)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Run samples every s.every until stop closes, and records a curve point
// every s.curve; it takes a last sample when stopped.
func (s *Sampler) Run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	s.sample()
	s.point()
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	next := s.curve
	for {
		select {
		case <-stop:
			s.sample()
			s.point()
			return
		case <-tick.C:
			s.sample()
			if s.curve > 0 && time.Since(s.start) >= next {
				s.point()
				next += s.curve
			}
		}
	}
}

func (s *Sampler) point() {
	s.mu.Lock()
	defer s.mu.Unlock()
	pt := CurvePoint{At: time.Since(s.start), RSS: map[string]int64{}}
	for name, p := range s.procs {
		pt.RSS[name] = p.curRSS
	}
	s.points = append(s.points, pt)
}

// ProcResult is one process's memory and CPU over the run.
type ProcResult struct {
	Name       string
	Pids       []int
	RSSMaxKB   int64
	RSSMeanKB  int64
	HWMKB      int64 // the largest VmHWM over its pids
	CPUSeconds float64
	// WithChildren: live children counted (CPU added, VmRSS summed, shared
	// pages in each; the peak is the largest sampled sum).
	WithChildren bool
}

func (s *Sampler) results() []ProcResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ProcResult
	for _, name := range s.order {
		p := s.procs[name]
		r := ProcResult{Name: name, Pids: p.pids, CPUSeconds: p.cpuSeconds()}
		var sum int64
		for _, v := range p.rssSamples {
			sum += v
			r.RSSMaxKB = max(r.RSSMaxKB, v)
		}
		if len(p.rssSamples) > 0 {
			r.RSSMeanKB = sum / int64(len(p.rssSamples))
		}
		for _, v := range p.hwmKB {
			r.HWMKB = max(r.HWMKB, v)
		}
		if p.children {
			r.HWMKB = r.RSSMaxKB // the children's own peaks do not add up
			r.WithChildren = true
		}
		out = append(out, r)
	}
	return out
}

// readTicks is utime+stime of pid, in clock ticks.
func readTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces and parentheses: fields start
	// after the last ')'. utime and stime are fields 14 and 15, i.e. the
	// 12th and 13th after the state.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, fmt.Errorf("pid %d is gone", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return u + st, nil
}

// readStatusKB is VmRSS and VmHWM of pid in kB (0 when unreadable).
func readStatusKB(pid int) (rss, hwm int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}
