package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// AnnotationFleet holds a fleet run's progress on the fleet Lease. Like the
// node state, it holds only node names, counts and times.
const AnnotationFleet = "crimig.io/fleet"

// FleetProgress is the JSON document in the crimig.io/fleet annotation:
// where a fleet run stands. Every node of the run is in exactly one of
// InFlight, Done, Failed and Pending.
type FleetProgress struct {
	Waves int `json:"waves"`
	// Wave is the current wave, 1-based; 0 before the first one starts.
	Wave    int    `json:"wave"`
	WaveWhy string `json:"waveWhy,omitempty"`
	// InFlight are the nodes of the current wave still migrating.
	InFlight []string `json:"inFlight"`
	Done     []string `json:"done"`
	Failed   []string `json:"failed"`
	// Pending are the nodes of later waves.
	Pending []string  `json:"pending"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

// ReadFleetProgress decodes the fleet annotation of l; nil when there is
// none (an older crimig, or a run that has not started its first wave).
func ReadFleetProgress(l *coordinationv1.Lease) (*FleetProgress, error) {
	p, err := readAnnotation[FleetProgress](l.Annotations, AnnotationFleet)
	if err != nil {
		return nil, fmt.Errorf("the Lease %s/%s: annotation %s is not valid JSON (%w)", l.Namespace, l.Name, AnnotationFleet, err)
	}
	if p == nil {
		return nil, nil
	}
	for _, s := range []*[]string{&p.InFlight, &p.Done, &p.Failed, &p.Pending} {
		if *s == nil {
			*s = []string{}
		}
	}
	return p, nil
}

// Total is the number of nodes in the run.
func (p *FleetProgress) Total() int {
	return len(p.InFlight) + len(p.Done) + len(p.Failed) + len(p.Pending)
}

// Summary is one line: "wave 2/4 · in flight: node-3, node-4 · 3 done,
// 1 failed (node-5), 2 waiting". The reason of the wave is left to the
// caller, which knows how much room it has.
func (p *FleetProgress) Summary() string {
	parts := []string{}
	if p.Wave > 0 {
		parts = append(parts, fmt.Sprintf("wave %d/%d", p.Wave, p.Waves))
	} else {
		parts = append(parts, fmt.Sprintf("%d wave(s) planned", p.Waves))
	}
	if len(p.InFlight) > 0 {
		parts = append(parts, "in flight: "+strings.Join(p.InFlight, ", "))
	}
	counts := fmt.Sprintf("%d done", len(p.Done))
	if len(p.Failed) > 0 {
		counts += fmt.Sprintf(", %d failed (%s)", len(p.Failed), nameList(p.Failed, 3))
	}
	if len(p.Pending) > 0 {
		counts += fmt.Sprintf(", %d waiting", len(p.Pending))
	}
	return strings.Join(append(parts, counts), " · ")
}

// nameList joins up to n names, then says how many more there are.
func nameList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// fleetWaveMessage is the message of the event that starts a wave.
func fleetWaveMessage(i, waves int, w Wave) string {
	return fmt.Sprintf("wave %d/%d (%s): %v", i, waves, w.Why, w.Nodes)
}

// ParseFleetWave reads the message of a fleet event that starts a wave:
// the wave (1-based), the number of waves and why the wave is what it is.
func ParseFleetWave(msg string) (wave, waves int, why string, ok bool) {
	if _, err := fmt.Sscanf(msg, "wave %d/%d (", &wave, &waves); err != nil {
		return 0, 0, "", false
	}
	_, rest, found := strings.Cut(msg, " (")
	if !found {
		return 0, 0, "", false
	}
	end := strings.LastIndex(rest, "): [")
	if end < 0 {
		return 0, 0, "", false
	}
	return wave, waves, rest[:end], true
}

// fleetCountMessage is the message of the event that ends a node of the
// fleet: "node-2 done: 3/6 nodes done" or "node-4 failed: 2/6 nodes done,
// 1 failed".
func fleetCountMessage(node, outcome string, done, failed, total int) string {
	msg := fmt.Sprintf("%s %s: %d/%d nodes done", node, outcome, done, total)
	if failed > 0 {
		msg += fmt.Sprintf(", %d failed", failed)
	}
	return msg
}

// ParseFleetCount reads the message of the fleet event sent when a node of
// the fleet ends: how many nodes are done and failed, out of how many.
func ParseFleetCount(msg string) (done, failed, total int, ok bool) {
	i := strings.LastIndex(msg, ": ")
	if i < 0 {
		return 0, 0, 0, false
	}
	rest := msg[i+2:]
	if _, err := fmt.Sscanf(rest, "%d/%d nodes done", &done, &total); err != nil {
		return 0, 0, 0, false
	}
	if _, f, found := strings.Cut(rest, ", "); found {
		if _, err := fmt.Sscanf(f, "%d failed", &failed); err != nil {
			return 0, 0, 0, false
		}
	}
	return done, failed, total, true
}

// fleetTracker keeps a fleet run's FleetProgress and writes it to the fleet
// Lease whenever it changes. The nodes of a wave end concurrently; the
// mutex also keeps the writes in order.
type fleetTracker struct {
	e  *Engine
	mu sync.Mutex
	p  FleetProgress
	// reported holds the write errors already reported, so that a missing
	// permission is said once, not once per node.
	reported map[string]bool
}

func newFleetTracker(e *Engine, waves []Wave) *fleetTracker {
	t := &fleetTracker{e: e, reported: map[string]bool{}, p: FleetProgress{
		Waves: len(waves), InFlight: []string{}, Done: []string{}, Failed: []string{}, Pending: []string{}, Started: e.now(),
	}}
	for _, w := range waves {
		t.p.Pending = append(t.p.Pending, w.Nodes...)
	}
	return t
}

// startWave moves the wave's nodes from Pending to InFlight.
func (t *fleetTracker) startWave(ctx context.Context, i int, w Wave) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.Wave, t.p.WaveWhy = i, w.Why
	t.p.InFlight = append([]string{}, w.Nodes...)
	t.p.Pending = slices.DeleteFunc(t.p.Pending, func(n string) bool { return slices.Contains(w.Nodes, n) })
	t.save(ctx)
}

// nodeEnded moves node to Done or Failed and reports the fleet's count.
func (t *fleetTracker) nodeEnded(ctx context.Context, node string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.InFlight = slices.DeleteFunc(t.p.InFlight, func(n string) bool { return n == node })
	outcome := "done"
	switch {
	case errors.Is(err, ErrStopped):
		outcome = "stopped"
		t.p.Pending = append(t.p.Pending, node)
	case err != nil:
		outcome = "failed"
		t.p.Failed = append(t.p.Failed, node)
	default:
		t.p.Done = append(t.p.Done, node)
	}
	done, total := len(t.p.Done), t.p.Total()
	t.save(ctx)
	t.e.emitProgress("", StepFleet, PhaseProgress, fleetCountMessage(node, outcome, done, len(t.p.Failed), total), float64(done)/float64(max(total, 1)))
}

// save writes the progress into the Lease's annotation. It reads the Lease
// and updates it, retrying on a conflict with the renewal, which itself
// updates the object it read and so keeps the annotation. (update is a verb
// the lock needs anyway; patch would be one more permission.) A failure is
// reported and the run goes on: the Lease is only a window on the run.
// Called with t.mu held.
func (t *fleetTracker) save(ctx context.Context) {
	if ctx.Err() != nil {
		return // the run stops and releases the Lease
	}
	t.p.Updated = t.e.now()
	b, err := json.Marshal(t.p)
	if err == nil {
		err = t.write(ctx, string(b))
	}
	if err != nil && ctx.Err() == nil && !t.reported[err.Error()] {
		t.reported[err.Error()] = true
		t.e.emit("", StepFleet, PhaseInfo, fmt.Sprintf("cannot record the fleet's progress on Lease %s/%s (%v); the run goes on", t.e.LockNamespace, FleetLeaseName, err))
	}
}

func (t *fleetTracker) write(ctx context.Context, doc string) error {
	leases := t.e.Client.CoordinationV1().Leases(t.e.LockNamespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := leases.Get(ctx, FleetLeaseName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != t.e.Identity {
			return errors.New("the Lease is no longer held by this run")
		}
		if l.Annotations == nil {
			l.Annotations = map[string]string{}
		}
		l.Annotations[AnnotationFleet] = doc
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err
	})
}

// describeFleetHolder adds, to the error of a fleet run that found the
// fleet locked, where the other run stands.
func (e *Engine) describeFleetHolder(ctx context.Context, err error) error {
	var locked *LockedError
	if !errors.As(err, &locked) {
		return err
	}
	l, gerr := e.Client.CoordinationV1().Leases(e.LockNamespace).Get(ctx, FleetLeaseName, metav1.GetOptions{})
	if gerr != nil {
		return err
	}
	p, perr := ReadFleetProgress(l)
	if perr != nil || p == nil {
		return err
	}
	return fmt.Errorf("%w. That run: %s", err, p.Summary())
}
