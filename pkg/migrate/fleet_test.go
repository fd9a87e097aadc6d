package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

func fleetNodes(names ...string) []corev1.Node {
	var out []corev1.Node
	for _, n := range names {
		node := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{}}}
		if strings.HasPrefix(n, "cp") {
			node.Labels[inspect.LabelControlPlane] = ""
		}
		out = append(out, node)
	}
	return out
}

func webPod(node string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-" + node, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: node}}
}

func TestPlanWaves(t *testing.T) {
	webPDB := policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}}
	nodes := fleetNodes("cp-1", "n1", "n2", "n3", "n4", "n5")
	tests := []struct {
		name string
		pods []corev1.Pod
		pdbs []policyv1.PodDisruptionBudget
		o    FleetOptions
		want [][]string
	}{
		{"waves of two, canary first, control plane last", nil, nil,
			FleetOptions{MaxUnavailable: 2, Canary: "n3", AllowControlPlane: true},
			[][]string{{"n3"}, {"n1", "n2"}, {"n4", "n5"}, {"cp-1"}}},
		{"a PDB allowing one disruption splits a wave", []corev1.Pod{webPod("n1"), webPod("n2")}, []policyv1.PodDisruptionBudget{webPDB},
			FleetOptions{MaxUnavailable: 3, AllowControlPlane: true},
			[][]string{{"n1", "n3", "n4"}, {"n2", "n5"}, {"cp-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waves, err := PlanWaves(nodes, tt.pods, tt.pdbs, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, w := range waves {
				got = append(got, w.Nodes)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("waves (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := PlanWaves(nodes, nil, nil, FleetOptions{MaxUnavailable: 1}); err == nil || !strings.Contains(err.Error(), "--allow-control-plane") {
		t.Errorf("control plane without --allow-control-plane: %v", err)
	}
	if _, err := PlanWaves(nodes[1:], nil, nil, FleetOptions{MaxUnavailable: 1, Canary: "nope"}); err == nil {
		t.Error("an unknown canary must be refused")
	}
}

func TestMigrateFleetStopsAtFirstFailure(t *testing.T) {
	e, host, _ := newTestEngine(t)
	ctx := context.Background()
	for i := 2; i <= 3; i++ {
		n := testNode()
		n.Name = fmt.Sprintf("node-%d", i)
		if _, err := e.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	host.failStep = "install.sh"
	waves := []Wave{{Nodes: []string{"node-1"}, Why: "canary"}, {Nodes: []string{"node-2", "node-3"}, Why: "up to 2 at once"}}
	err := e.MigrateFleet(ctx, waves, FleetOptions{MaxUnavailable: 2, ContinueOnError: true})
	if err == nil || !strings.Contains(err.Error(), "node node-1") {
		t.Fatalf("err = %v", err)
	}
	for _, n := range []string{"node-2", "node-3"} {
		got, _ := e.Client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if _, ok := got.Annotations[AnnotationState]; ok {
			t.Errorf("%s was touched after the canary failed", n)
		}
	}
	host.failStep = ""
	if err := e.MigrateFleet(ctx, waves, FleetOptions{MaxUnavailable: 2}); err != nil {
		t.Fatalf("resumed fleet: %v", err)
	}
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		got, _ := e.Client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if st, _ := ReadState(got); st == nil || st.Phase != StateSucceeded {
			t.Errorf("%s: state %+v", n, st)
		}
	}
}

func addFleetNodes(t *testing.T, e *Engine, names ...string) {
	t.Helper()
	for _, name := range names {
		n := testNode()
		n.Name = name
		if _, err := e.Client.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// nodeFailingHost fails one script on one node only.
type nodeFailingHost struct {
	*fakeHost
	node, script string
}

func (h nodeFailingHost) Run(ctx context.Context, node, script string, env map[string]string) (nodeexec.Result, error) {
	if node == h.node && scriptName(script) == h.script {
		h.record("run " + h.script + " on " + node)
		return nodeexec.Result{ExitCode: 3, Stderr: []byte("no repo provides cri-o\n")}, nil
	}
	return h.fakeHost.Run(ctx, node, script, env)
}

// fleetWrites records every fleet document written to the fleet Lease.
func fleetWrites(client *fake.Clientset) func() []FleetProgress {
	var mu sync.Mutex
	var docs []string
	client.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		if l.Name == FleetLeaseName && l.Annotations[AnnotationFleet] != "" {
			mu.Lock()
			docs = append(docs, l.Annotations[AnnotationFleet])
			mu.Unlock()
		}
		return false, nil, nil
	})
	return func() []FleetProgress {
		mu.Lock()
		defer mu.Unlock()
		var out []FleetProgress
		for _, d := range docs {
			var p FleetProgress
			if err := json.Unmarshal([]byte(d), &p); err != nil {
				panic(err)
			}
			out = append(out, p)
		}
		return out
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if s == nil {
		s = []string{}
	}
	return s
}

// TestFleetProgressOnLease: a three-wave run in which one node fails and
// the run goes on records, after each wave start and each node's end,
// which wave runs and where every node stands.
func TestFleetProgressOnLease(t *testing.T) {
	e, host, events := newTestEngine(t)
	ctx := context.Background()
	addFleetNodes(t, e, "node-2", "node-3", "node-4", "node-5")
	e.Host = nodeFailingHost{fakeHost: host, node: "node-3", script: "install.sh"}
	client := e.Client.(*fake.Clientset)
	writes := fleetWrites(client)
	// Each count event must find the Lease already saying as much.
	var mu sync.Mutex
	var stored []string
	sink := e.Sink
	e.Sink = func(ev Event) {
		sink(ev)
		if ev.Step != StepFleet || ev.Phase != PhaseProgress {
			return
		}
		l, err := client.CoordinationV1().Leases("crimig-system").Get(ctx, FleetLeaseName, metav1.GetOptions{})
		if err != nil {
			t.Errorf("reading the fleet Lease: %v", err)
			return
		}
		p, err := ReadFleetProgress(l)
		if err != nil || p == nil {
			t.Errorf("fleet progress %v, %v", p, err)
			return
		}
		mu.Lock()
		stored = append(stored, fmt.Sprintf("%d done %d failed", len(p.Done), len(p.Failed)))
		mu.Unlock()
	}

	waves := []Wave{
		{Nodes: []string{"node-1", "node-2"}, Why: "up to 2 at once"},
		{Nodes: []string{"node-3", "node-4"}, Why: "up to 2 at once"},
		{Nodes: []string{"node-5"}, Why: "up to 2 at once; PodDisruptionBudgets keep the rest for later waves"},
	}
	err := e.MigrateFleet(ctx, waves, FleetOptions{MaxUnavailable: 2, ContinueOnError: true})
	if err == nil || !strings.Contains(err.Error(), "node node-3") {
		t.Fatalf("err = %v, want node-3's failure", err)
	}

	type view struct {
		Wave                            int
		Why                             string
		InFlight, Done, Failed, Pending []string
	}
	var got []view
	all := writes()
	for _, p := range all {
		got = append(got, view{p.Wave, p.WaveWhy, sorted(p.InFlight), sorted(p.Done), sorted(p.Failed), sorted(p.Pending)})
		if p.Waves != 3 || p.Started.IsZero() || p.Started != all[0].Started || p.Updated.Before(p.Started) {
			t.Errorf("document %+v: waves, started or updated wrong", p)
		}
	}
	none := []string{}
	w1, w2 := waves[0].Why, waves[2].Why
	// Nodes of one wave end in any order; only the first of the two
	// node-end documents of a two-node wave is ambiguous.
	if len(got) == 8 {
		for _, i := range []int{1, 4} {
			if len(got[i].InFlight) != 1 {
				t.Errorf("document %d: %+v, want one node still in flight", i, got[i])
			}
		}
		got[1], got[4] = view{}, view{}
	}
	want := []view{
		{1, w1, []string{"node-1", "node-2"}, none, none, []string{"node-3", "node-4", "node-5"}},
		{},
		{1, w1, none, []string{"node-1", "node-2"}, none, []string{"node-3", "node-4", "node-5"}},
		{2, w1, []string{"node-3", "node-4"}, []string{"node-1", "node-2"}, none, []string{"node-5"}},
		{},
		{2, w1, none, []string{"node-1", "node-2", "node-4"}, []string{"node-3"}, []string{"node-5"}},
		{3, w2, []string{"node-5"}, []string{"node-1", "node-2", "node-4"}, []string{"node-3"}, none},
		{3, w2, none, []string{"node-1", "node-2", "node-4", "node-5"}, []string{"node-3"}, none},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fleet documents (-want +got):\n%s", diff)
	}

	var counts []string
	var last Event
	for _, ev := range *events {
		if ev.Step == StepFleet && ev.Phase == PhaseProgress {
			done, failed, total, ok := ParseFleetCount(ev.Message)
			if !ok {
				t.Errorf("unreadable count %q", ev.Message)
			}
			counts = append(counts, fmt.Sprintf("%d done %d failed", done, failed))
			if total != 5 || ev.Node != "" {
				t.Errorf("count event %+v", ev)
			}
			last = ev
		}
		if ev.Step == StepFleet && ev.Phase == PhaseInfo && strings.Contains(ev.Message, "cannot record") {
			t.Errorf("a write failed: %s", ev.Message)
		}
	}
	wantCounts := []string{"1 done 0 failed", "2 done 0 failed", "2 done 1 failed", "3 done 1 failed", "4 done 1 failed"}
	if len(counts) == 5 && counts[2] == "3 done 0 failed" { // node-4 ended before node-3
		wantCounts[2] = "3 done 0 failed"
	}
	if diff := cmp.Diff(wantCounts, counts); diff != "" {
		t.Errorf("count events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(counts, stored); diff != "" {
		t.Errorf("the Lease lagged behind the count events (-events +Lease):\n%s", diff)
	}
	if last.Progress != 0.8 || last.Message != "node-5 done: 4/5 nodes done, 1 failed" {
		t.Errorf("last count event %+v", last)
	}
	if _, err := client.CoordinationV1().Leases("crimig-system").Get(ctx, FleetLeaseName, metav1.GetOptions{}); err == nil {
		t.Error("the fleet Lease was not released")
	}
}

// TestFleetProgressSurvivesRenewal: the lock's renewal (Get, then Update
// of what it read) keeps the annotation; it runs on a fake clock.
func TestFleetProgressSurvivesRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, _ := newTestEngine(t)
		ctx := context.Background()
		leases := e.Client.CoordinationV1().Leases("crimig-system")
		lock, err := e.acquireNamed(ctx, FleetLeaseName, "the fleet")
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release() // stops the renewal, so that the bubble ends
		waves := []Wave{{Nodes: []string{"node-1"}, Why: "up to 1 at once"}, {Nodes: []string{"node-2"}, Why: "up to 1 at once"}}
		track := newFleetTracker(e, waves)
		track.startWave(ctx, 1, waves[0])
		before, err := leases.Get(ctx, FleetLeaseName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(leaseRenew + time.Second)
		synctest.Wait()
		after, err := leases.Get(ctx, FleetLeaseName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !after.Spec.RenewTime.After(before.Spec.RenewTime.Time) {
			t.Fatalf("the Lease was not renewed: %v, then %v", before.Spec.RenewTime, after.Spec.RenewTime)
		}
		p, err := ReadFleetProgress(after)
		if err != nil || p == nil || p.Wave != 1 || strings.Join(p.InFlight, ",") != "node-1" || strings.Join(p.Pending, ",") != "node-2" {
			t.Fatalf("after the renewal: %+v, %v", p, err)
		}
		// The next write lands on the renewed Lease and keeps its renewal.
		track.nodeEnded(ctx, "node-1", nil)
		final, _ := leases.Get(ctx, FleetLeaseName, metav1.GetOptions{})
		if p, _ := ReadFleetProgress(final); p == nil || strings.Join(p.Done, ",") != "node-1" || !final.Spec.RenewTime.Equal(after.Spec.RenewTime) {
			t.Errorf("after a write: %+v, renewed %v", p, final.Spec.RenewTime)
		}
	})
}

// TestFleetProgressWriteFailures: a conflict is retried; a refused write
// is said once and does not stop the run.
func TestFleetProgressWriteFailures(t *testing.T) {
	e, _, events := newTestEngine(t)
	ctx := context.Background()
	addFleetNodes(t, e, "node-2")
	client := e.Client.(*fake.Clientset)
	writes := fleetWrites(client)
	conflicts := 1 // the first write conflicts, before it is recorded
	client.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, FleetLeaseName, errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	waves := []Wave{{Nodes: []string{"node-1"}, Why: "up to 1 at once"}, {Nodes: []string{"node-2"}, Why: "up to 1 at once"}}
	if err := e.MigrateFleet(ctx, waves, FleetOptions{MaxUnavailable: 1}); err != nil {
		t.Fatal(err)
	}
	if got := writes(); conflicts != 0 || len(got) != 4 || got[0].Wave != 1 {
		t.Errorf("after a conflict: %d documents written, want 4: %+v", len(got), got)
	}

	e2, _, events2 := newTestEngine(t)
	client2 := e2.Client.(*fake.Clientset)
	client2.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, FleetLeaseName, errors.New("no update"))
	})
	if err := e2.MigrateFleet(ctx, waves[:1], FleetOptions{MaxUnavailable: 1}); err != nil {
		t.Fatalf("a refused write failed the run: %v", err)
	}
	var said []string
	for _, ev := range *events2 {
		if ev.Step == StepFleet && ev.Phase == PhaseInfo && strings.Contains(ev.Message, "cannot record the fleet's progress") {
			said = append(said, ev.Message)
		}
	}
	if len(said) != 1 || !strings.Contains(said[0], "forbidden") {
		t.Errorf("the refused writes were reported as %q, want once", said)
	}
	for _, ev := range *events {
		if strings.Contains(ev.Message, "cannot record") {
			t.Errorf("a conflict was reported: %s", ev.Message)
		}
	}
}

// TestSecondFleetRunRefused: a second fleet run names the holder and says
// where the first one stands.
func TestSecondFleetRunRefused(t *testing.T) {
	e, host, _ := newTestEngine(t)
	ctx := context.Background()
	holder, dur := "bob@ci/fleet-1", int32(60)
	renewed := metav1.NewMicroTime(time.Now())
	doc, _ := json.Marshal(FleetProgress{Waves: 3, Wave: 2, InFlight: []string{"node-3", "node-4"}, Done: []string{"node-1", "node-2"}, Pending: []string{"node-5"}})
	if _, err := e.Client.CoordinationV1().Leases("crimig-system").Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: FleetLeaseName, Namespace: "crimig-system", Annotations: map[string]string{AnnotationFleet: string(doc)}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &renewed},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := e.MigrateFleet(ctx, []Wave{{Nodes: []string{"node-1"}, Why: "up to 1 at once"}}, FleetOptions{MaxUnavailable: 1})
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Holder != holder {
		t.Fatalf("err = %v, want a LockedError naming %s", err, holder)
	}
	if !strings.Contains(err.Error(), "That run: wave 2/3 · in flight: node-3, node-4 · 2 done, 1 waiting") {
		t.Errorf("err does not say where the other run stands: %v", err)
	}
	if len(host.calls) != 0 {
		t.Errorf("the refused run touched hosts: %v", host.calls)
	}
}

func TestFleetMessages(t *testing.T) {
	w := Wave{Nodes: []string{"n1", "n2"}, Why: "up to 2 at once; PodDisruptionBudgets keep the rest for later waves"}
	msg := fleetWaveMessage(2, 4, w)
	if msg != "wave 2/4 (up to 2 at once; PodDisruptionBudgets keep the rest for later waves): [n1 n2]" {
		t.Errorf("wave message %q", msg)
	}
	if i, n, why, ok := ParseFleetWave(msg); !ok || i != 2 || n != 4 || why != w.Why {
		t.Errorf("ParseFleetWave(%q) = %d %d %q %v", msg, i, n, why, ok)
	}
	if _, _, _, ok := ParseFleetWave("pausing 1m0s before the next wave"); ok {
		t.Error("a pause read as a wave")
	}
	for _, tt := range []struct {
		msg                 string
		done, failed, total int
	}{
		{fleetCountMessage("n1", "done", 1, 0, 6), 1, 0, 6},
		{fleetCountMessage("n4", "failed", 3, 2, 6), 3, 2, 6},
	} {
		if d, f, n, ok := ParseFleetCount(tt.msg); !ok || d != tt.done || f != tt.failed || n != tt.total {
			t.Errorf("ParseFleetCount(%q) = %d %d %d %v", tt.msg, d, f, n, ok)
		}
	}
	if _, _, _, ok := ParseFleetCount("stopped after wave 1; the remaining nodes are untouched"); ok {
		t.Error("a stop read as a count")
	}

	p := FleetProgress{Waves: 4, Wave: 2, InFlight: []string{"n3"}, Done: []string{"n1"}, Failed: []string{"a", "b", "c", "d"}, Pending: []string{"n5"}}
	if got := p.Summary(); got != "wave 2/4 · in flight: n3 · 1 done, 4 failed (a, b, c and 1 more), 1 waiting" {
		t.Errorf("Summary() = %q", got)
	}
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "crimig-system", Name: FleetLeaseName, Annotations: map[string]string{AnnotationFleet: "{"}}}
	if _, err := ReadFleetProgress(l); err == nil || !strings.Contains(err.Error(), AnnotationFleet) {
		t.Errorf("invalid JSON: %v", err)
	}
	l.Annotations[AnnotationFleet] = `{"waves":1,"wave":1,"inFlight":["n1"]}`
	if p, err := ReadFleetProgress(l); err != nil || p.Done == nil || p.Total() != 1 {
		t.Errorf("ReadFleetProgress = %+v, %v", p, err)
	}
}
