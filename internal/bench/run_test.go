package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeDriver consults each application after two status reads and refuses
// the first opinion once with 409, like the engine when a read races the
// consultation's recording.
type fakeDriver struct {
	mu      sync.Mutex
	reads   map[string]int
	refused map[string]bool
	steps   map[string][]string
	failAt  int
}

func newFake() *fakeDriver {
	return &fakeDriver{reads: map[string]int{}, refused: map[string]bool{}, steps: map[string][]string{}, failAt: -1}
}

func (f *fakeDriver) Start(_ context.Context, i int) (string, error) {
	if i == f.failAt {
		return "", errors.New("submit refused")
	}
	return fmt.Sprintf("app-%d", i), nil
}

func (f *fakeDriver) Consulted(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads[id]++
	return f.reads[id] >= 2, nil
}

func (f *fakeDriver) Step(_ context.Context, id, step string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if step == StepOpinion && !f.refused[id] {
		f.refused[id] = true
		return true, nil
	}
	f.steps[id] = append(f.steps[id], step)
	return false, nil
}

func TestRunLifecycles(t *testing.T) {
	f := newFake()
	r, err := RunLifecycles(context.Background(), "fake", f, RunOptions{Lifecycles: 10, Concurrency: 3, Warmup: 2, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Completed != 10 || r.Failed != 0 || r.PerSecond <= 0 {
		t.Fatalf("run %+v", r)
	}
	if got := r.Step(StepStatusRead).Count; got != 20 {
		t.Errorf("%d status reads timed, want 2 per lifecycle", got)
	}
	for _, s := range reportedSteps {
		if s == StepStatusRead {
			continue
		}
		if got := r.Step(s).Count; got != 10 {
			t.Errorf("%s: %d samples, want 10 (warm-up left out)", s, got)
		}
	}
	if len(f.steps) != 12 {
		t.Errorf("%d applications driven, want 10 + 2 warm-up", len(f.steps))
	}
	for id, steps := range f.steps {
		if fmt.Sprint(steps) != fmt.Sprint(humanSteps) {
			t.Errorf("%s: steps %v, want %v in order", id, steps, humanSteps)
		}
	}
}

func TestRunLifecyclesCountsFailures(t *testing.T) {
	f := newFake()
	f.failAt = 3
	r, err := RunLifecycles(context.Background(), "fake", f, RunOptions{Lifecycles: 5, Concurrency: 2, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Completed != 4 || r.Failed != 1 || len(r.Errors) != 1 || r.Errors[0] != "submit refused" {
		t.Fatalf("run %+v", r)
	}
}

func TestSessionAccumulatesRounds(t *testing.T) {
	f := newFake()
	s := NewSession("fake", f, RunOptions{Concurrency: 4, Poll: time.Millisecond})
	if err := s.Warmup(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{5, 7} {
		if err := s.Round(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	r := s.Result()
	if r.Lifecycles != 12 || r.Completed != 12 || r.Step(StepDecision).Count != 12 || r.StatusReads != 2 {
		t.Fatalf("result %+v", r)
	}
	if len(f.steps) != 15 {
		t.Fatalf("%d distinct applications, want 15: numbers must not repeat across rounds", len(f.steps))
	}
}
