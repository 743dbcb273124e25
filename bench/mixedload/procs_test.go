package main

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestSamplerCountsChildren: a parent that only waits for a busy child
// (PostgreSQL's postmaster and its backends) is charged the child's CPU.
func TestSamplerCountsChildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", "yes >/dev/null & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Skipf("sh: %v", err)
	}
	defer func() {
		// The shell and its child are their own process group: end both.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	s := &Sampler{fixed: map[string]int{"parent": cmd.Process.Pid}, every: 20 * time.Millisecond, procs: map[string]*watchedProc{}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.sample()
		res := s.results()
		if len(res) == 1 && res[0].WithChildren && res[0].CPUSeconds > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %+v", res)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
