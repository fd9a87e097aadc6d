package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

func statusNode(name, runtime string, state *migrate.State) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{}},
		Status: corev1.NodeStatus{
			NodeInfo:   corev1.NodeSystemInfo{ContainerRuntimeVersion: runtime, KubeletVersion: "v1.29.15"},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	if state != nil {
		b, _ := json.Marshal(state)
		n.Annotations[migrate.AnnotationState] = string(b)
	}
	return n
}

func statusLease(ns, name, holder string) *coordinationv1.Lease {
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
}

func statusFixture() *fake.Clientset {
	started := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	return fake.NewClientset(
		statusNode("node-1", "docker://20.10.24", nil),
		statusNode("node-2", "cri-o://1.29.1", &migrate.State{RunID: "r1", From: "docker", To: "cri-o", Phase: migrate.StateSucceeded, Step: "uncordon", Started: started, Updated: started.Add(9 * time.Minute)}),
		statusNode("node-3", "docker://20.10.24", &migrate.State{RunID: "r2", From: "docker", To: "cri-o", Phase: migrate.StateFailed, Step: "configure", FailedStep: "swap", Started: started, Updated: started, LastError: "swap: crio did not start"}),
		statusLease("crimig-system", "crimig-node-node-3", "bob@ci/r2"),
		statusLease("crimig-system", migrate.FleetLeaseName, "bob@ci/fleet"),
		statusLease("other", "crimig-node-node-1", "not ours"),
	)
}

func runStatus(t *testing.T, client *fake.Clientset, output string, nodes ...string) (string, string, error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o := NewStatusOptions(streams)
	o.client, o.Nodes = client, nodes
	o.Output = output
	if err := o.completePrinter(); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	err := o.Run(context.Background())
	return out.String(), errOut.String(), err
}

func TestStatusJSON(t *testing.T) {
	client := statusFixture()
	out, _, err := runStatus(t, client, "json")
	if err != nil {
		t.Fatal(err)
	}
	var got fleetstatus.Status
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.Kind != "NodeStatusList" || got.APIVersion != "crimig.io/v1alpha1" || len(got.Items) != 3 || got.FleetLock == nil || got.FleetLock.Holder != "bob@ci/fleet" {
		t.Fatalf("unexpected document:\n%s", out)
	}
	n3 := got.Items[2]
	if n3.Name != "node-3" || n3.Kind != "NodeStatus" || n3.Metadata.Name != "node-3" || n3.State == nil || n3.State.Phase != migrate.StateFailed || n3.StepsDone != 8 || n3.StepsTotal != len(fleetstatus.StepNames()) ||
		n3.Lock == nil || n3.Lock.Holder != "bob@ci/r2" || n3.State.LastError != "swap: crio did not start" ||
		n3.State.Step != "configure" || n3.State.FailedStep != "swap" {
		t.Errorf("node-3 = %+v", n3)
	}
	if got.Items[0].Lock != nil {
		t.Errorf("a Lease outside --pod-namespace was used: %+v", got.Items[0].Lock)
	}
	if fleetstatus.FormatCounts(got.Counts) != "docker 2 · cri-o 1 · migrating 0 · failed 1" {
		t.Errorf("counts = %s", fleetstatus.FormatCounts(got.Counts))
	}
	for _, want := range []string{`"name": "node-1"`, `"runtime": "docker"`, fmt.Sprintf(`"stepsDone": %d`, len(fleetstatus.StepNames())), `"runId": "r1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	// One list of nodes and one of leases: no request per node.
	var lists, others int
	for _, a := range client.Actions() {
		if a.GetVerb() == "list" {
			lists++
		} else {
			others++
		}
	}
	if lists != 2 || others != 0 {
		t.Errorf("%d lists and %d other requests, want 2 lists: %v", lists, others, client.Actions())
	}
}

func TestStatusTableAndNodeArgs(t *testing.T) {
	out, errOut, err := runStatus(t, statusFixture(), "wide", "node-3")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "swap: crio did not start") ||
		!strings.Contains(lines[1], "bob@ci/r2") || !strings.Contains(lines[1], fmt.Sprintf("8/%d", len(fleetstatus.StepNames()))) {
		t.Errorf("unexpected table:\n%s", out)
	}
	if !strings.Contains(errOut, "bob@ci/fleet") {
		t.Errorf("stderr does not name the fleet run: %q", errOut)
	}
	// A failed run's STEP is the step that failed, not the last one done
	// (RUNTIME prints as two words).
	if f := strings.Fields(lines[1]); len(f) < 9 || f[7] != migrate.StateFailed || f[8] != "swap" {
		t.Errorf("PHASE and STEP of a run that failed at swap: %q", f)
	}
	if _, _, err := runStatus(t, statusFixture(), "table", "node-9"); err == nil || !strings.Contains(err.Error(), "node-9") {
		t.Errorf("a missing node gives %v", err)
	}
}

func TestStatusLeasesForbidden(t *testing.T) {
	client := statusFixture()
	client.PrependReactor("list", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errForbidden
	})
	out, errOut, err := runStatus(t, client, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "name: node-3") || !strings.Contains(errOut, "cannot read the crimig Leases") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

// TestStatusUnknownOutput: an unknown -o gets kubectl's error, listing
// status's own formats and kubectl's.
func TestStatusUnknownOutput(t *testing.T) {
	o := NewStatusOptions(genericiooptions.NewTestIOStreamsDiscard())
	o.Output = "x"
	err := o.completePrinter()
	want := `unable to match a printer suitable for the output format "x", allowed formats are: ` +
		"custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,name,table,template,templatefile,wide,yaml"
	if err == nil || err.Error() != want {
		t.Errorf("completePrinter() = %v\nwant %s", err, want)
	}
}

// TestStatusOutputFormats: kubectl's formats print the NodeStatusList, one
// item per node where the format is per object.
func TestStatusOutputFormats(t *testing.T) {
	for _, tc := range []struct{ output, want string }{
		{"name", "nodestatus.crimig.io/node-1\nnodestatus.crimig.io/node-2\nnodestatus.crimig.io/node-3\n"},
		{"jsonpath={.items[*].name}", "node-1 node-2 node-3"},
		{`jsonpath={range .items[?(@.state.phase=="Failed")]}{.name}{"\n"}{end}`, "node-3\n"},
		{`go-template={{range .items}}{{.name}} {{.runtime}} {{.stepsDone}}/{{.stepsTotal}}{{"\n"}}{{end}}`,
			fmt.Sprintf("node-1 docker 0/%[1]d\nnode-2 cri-o %[1]d/%[1]d\nnode-3 docker 8/%[1]d\n", len(fleetstatus.StepNames()))},
		{"custom-columns=NAME:.metadata.name,PHASE:.state.phase,HOLDER:.lock.holder",
			"NAME     PHASE       HOLDER\nnode-1   <none>      <none>\nnode-2   Succeeded   <none>\nnode-3   Failed      bob@ci/r2\n"},
		{"yaml", "apiVersion: crimig.io/v1alpha1\ncounts:\n"},
		{"kyaml", `kind: "NodeStatusList"`},
	} {
		t.Run(tc.output, func(t *testing.T) {
			out, _, err := runStatus(t, statusFixture(), tc.output)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tc.output, "yaml") && !strings.HasPrefix(tc.output, "kyaml") && out != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out, tc.want)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestStatusWatchName: --watch with a kubectl format prints each node that
// changes as one object.
func TestStatusWatchName(t *testing.T) {
	w := startStatusWatch(t, "jsonpath={.metadata.name} {.cordoned}{\"\\n\"}")
	w.waitFor("node-3 false\n")
	w.cordon("node-1")
	w.waitFor("node-1 true\n")
	if got, want := w.stop(), "node-1 false\nnode-2 false\nnode-3 false\nnode-1 true\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// statusWatch is `status --watch` running on the fixture's fake clientset.
type statusWatch struct {
	t      *testing.T
	client kubernetes.Interface
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startStatusWatch runs status --watch with -o output ("" for the table).
func startStatusWatch(t *testing.T, output string) *statusWatch {
	t.Helper()
	w := &statusWatch{t: t, client: statusFixture(), out: &syncBuffer{}, done: make(chan error, 1)}
	o := NewStatusOptions(genericiooptions.IOStreams{In: strings.NewReader(""), Out: w.out, ErrOut: io.Discard})
	o.client, o.Watch, o.Output = w.client, true, output
	if err := o.completePrinter(); err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, w.cancel = context.WithCancel(context.Background())
	t.Cleanup(w.cancel)
	go func() { w.done <- o.Run(ctx) }()
	return w
}

// cordon marks a node unschedulable through the API, as kubectl cordon.
func (w *statusWatch) cordon(name string) {
	w.t.Helper()
	ctx := context.Background()
	n, err := w.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	n.Spec.Unschedulable = true
	if _, err := w.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// waitFor waits for text in the output and says how long it took.
func (w *statusWatch) waitFor(text string) time.Duration {
	w.t.Helper()
	return waitForText(w.t, w.out, text)
}

// stop ends the watch, which must end cleanly, and returns its output.
func (w *statusWatch) stop() string {
	w.t.Helper()
	w.cancel()
	if err := <-w.done; err != nil {
		w.t.Fatal(err)
	}
	return w.out.String()
}

var errForbidden = &forbiddenErr{}

type forbiddenErr struct{}

func (*forbiddenErr) Error() string { return `leases.coordination.k8s.io is forbidden` }

// syncBuffer is a bytes.Buffer safe for a writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitForText(t *testing.T, b *syncBuffer, text string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		if strings.Contains(b.String(), text) {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %q within 5s:\n%s", text, b.String())
	return 0
}

// TestStatusWatch: --watch prints every node once, then only the node that
// changed. How soon is logged, not asserted: the fleetstatus benchmarks
// measure the update path.
func TestStatusWatch(t *testing.T) {
	w := startStatusWatch(t, "")
	w.waitFor("node-3")
	w.cordon("node-1")
	latency := w.waitFor("node-1   worker   docker 20.10.24   v1.29.15   yes     yes")
	t.Logf("a node change reached the output after %s", latency)
	out := w.stop()
	if got := strings.Count(out, "\n"); got != 5 {
		t.Errorf("want a header, 3 rows and 1 changed row, got %d lines:\n%s", got, out)
	}
}

// The progress view shares this file: it has no command of its own.

func TestProgressViewRun(t *testing.T) {
	errOut := &syncBuffer{}
	pv := progressView{streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: errOut}, target: "cri-o"}
	var seen []string
	err := pv.run(context.Background(), []string{"node-1", "node-2"}, func(_ context.Context, node string, sink migrate.Sink) error {
		seen = append(seen, node)
		if node == "node-2" {
			return errors.New("node node-2 is locked by \"bob\"")
		}
		now := time.Now()
		sink(migrate.Event{Time: now, Node: node, Step: "lock", Phase: migrate.PhaseStarted, Progress: -1})
		sink(migrate.Event{Time: now, Node: node, Step: "lock", Phase: migrate.PhaseDone, Progress: -1})
		sink(migrate.Event{Time: now, Node: node, Phase: migrate.PhaseDone, Message: "node node-1 runs cri-o", Progress: 1})
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("run() = %v, want the lock error", err)
	}
	if strings.Join(seen, ",") != "node-1,node-2" {
		t.Errorf("nodes run: %v", seen)
	}
	out := errOut.String()
	for _, want := range []string{"1 of 2 node(s) migrated", "failed: node node-2 is locked", "kubectl crimig rollback node-2"} {
		if !strings.Contains(out, want) {
			t.Errorf("the view lacks %q:\n%s", want, out)
		}
	}
}

// TestEventFeedStopsAfterStep: "stop" closes the channel the engine watches
// at step boundaries (once, however often it is asked), every event still
// reaches the view, a node that stopped is not reported as failed, and no
// further node starts.
func TestEventFeedStopsAfterStep(t *testing.T) {
	f := newEventFeed()
	f.sink(migrate.Event{Node: "n", Step: "drain", Phase: migrate.PhaseStarted})
	select {
	case <-f.stop:
		t.Fatal("the stop channel is closed before anyone asked")
	default:
	}
	f.stopAfterStep()
	f.stopAfterStep()
	select {
	case <-f.stop:
	default:
		t.Fatal("the stop channel is still open after stop")
	}
	f.sink(migrate.Event{Node: "n", Step: "drain", Phase: migrate.PhaseDone})
	f.sink(migrate.Event{Node: "n", Phase: migrate.PhaseInfo, Message: "stopped as asked after step drain"})
	f.reportFailure("n", fmt.Errorf("node n: %w after step drain", migrate.ErrStopped))
	f.reportFailure("m", errors.New("node m is locked"))
	close(f.events)
	var got []string
	for ev := range f.events {
		got = append(got, ev.Node+"/"+ev.Step+"/"+string(ev.Phase))
	}
	if want := "n/drain/started n/drain/done n//info m//failed"; strings.Join(got, " ") != want {
		t.Errorf("events %v, want %s", got, want)
	}
	if err := f.runNodes(context.Background(), []string{"o"}, nil); err == nil || !strings.Contains(err.Error(), "stopped before o") {
		t.Errorf("runNodes after stop = %v", err)
	}
}

func fleetStatusLease(p *migrate.FleetProgress) *coordinationv1.Lease {
	l := statusLease("crimig-system", migrate.FleetLeaseName, "bob@ci/fleet")
	if p != nil {
		b, _ := json.Marshal(p)
		l.Annotations = map[string]string{migrate.AnnotationFleet: string(b)}
	}
	return l
}

var statusFleetRun = &migrate.FleetProgress{Waves: 3, Wave: 2, WaveWhy: "up to 2 at once", InFlight: []string{"node-3"},
	Done: []string{"node-2"}, Failed: []string{"node-4"}, Pending: []string{"node-1"}}

// TestStatusFleetRun: the plain outputs and -o json show the wave and the
// nodes of a fleet run; --watch says when it moves on and when it ends.
func TestStatusFleetRun(t *testing.T) {
	client := statusFixture()
	if _, err := client.CoordinationV1().Leases("crimig-system").Update(context.Background(), fleetStatusLease(statusFleetRun), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runStatus(t, client, "table")
	if err != nil {
		t.Fatal(err)
	}
	want := "A fleet run holds crimig-fleet: bob@ci/fleet · wave 2/3 · in flight: node-3 · 1 done, 1 failed (node-4), 1 waiting (wave 2: up to 2 at once)\n"
	if errOut != want {
		t.Errorf("stderr:\n%q\nwant\n%q", errOut, want)
	}

	out, _, err := runStatus(t, client, "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		FleetLock struct {
			Holder string                 `json:"holder"`
			Fleet  *migrate.FleetProgress `json:"fleet"`
		} `json:"fleetLock"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if f := doc.FleetLock.Fleet; f == nil || f.Wave != 2 || f.Waves != 3 || strings.Join(f.InFlight, ",") != "node-3" || strings.Join(f.Failed, ",") != "node-4" {
		t.Errorf("fleetLock.fleet = %+v in\n%s", f, out)
	}
	for _, key := range []string{`"inFlight"`, `"waveWhy": "up to 2 at once"`, `"pending"`} {
		if !strings.Contains(out, key) {
			t.Errorf("-o json lacks %s", key)
		}
	}

	errBuf := &syncBuffer{}
	o := NewStatusOptions(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: errBuf})
	o.client, o.Watch = client, true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- o.Run(ctx) }()
	waitForText(t, errBuf, "wave 2/3")
	next := *statusFleetRun
	next.Wave, next.InFlight, next.Done, next.Pending = 3, []string{"node-1"}, []string{"node-2", "node-3"}, []string{}
	if _, err := client.CoordinationV1().Leases("crimig-system").Update(ctx, fleetStatusLease(&next), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForText(t, errBuf, "wave 3/3 · in flight: node-1 · 2 done")
	if err := client.CoordinationV1().Leases("crimig-system").Delete(ctx, migrate.FleetLeaseName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForText(t, errBuf, "The fleet run released crimig-fleet.")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(errBuf.String(), "\n"); got != 3 {
		t.Errorf("want 3 fleet lines, got:\n%s", errBuf.String())
	}
}

// TestProgressViewRunOnce: a fleet run feeds concurrent nodes and fleet
// events through one call; the view shows both nodes and the fleet line,
// and the sink the command wraps (the evidence bundle's) sees every event.
func TestProgressViewRunOnce(t *testing.T) {
	errOut := &syncBuffer{}
	pv := progressView{streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: errOut}, target: "cri-o"}
	var recorded int
	var mu sync.Mutex
	o := &MigrateOptions{sinkWrap: func(next migrate.Sink) migrate.Sink {
		return func(ev migrate.Event) { mu.Lock(); recorded++; mu.Unlock(); next(ev) }
	}}
	err := pv.runOnce(context.Background(), []string{"node-1", "node-2"}, func(_ context.Context, sink migrate.Sink) error {
		sink = o.wrapSink(sink)
		now := time.Now()
		sink(migrate.Event{Time: now, Step: migrate.StepFleet, Phase: migrate.PhaseInfo, Message: "wave 1/1 (up to 2 at once): [node-1 node-2]", Progress: -1})
		var wg sync.WaitGroup
		for _, n := range []string{"node-1", "node-2"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sink(migrate.Event{Time: now, Node: n, Step: "lock", Phase: migrate.PhaseStarted, Progress: -1})
				sink(migrate.Event{Time: now, Node: n, Step: "lock", Phase: migrate.PhaseDone, Progress: -1})
				sink(migrate.Event{Time: now, Node: n, Phase: migrate.PhaseDone, Message: "node " + n + " runs cri-o", Progress: 1})
			}()
		}
		wg.Wait()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := errOut.String()
	for _, want := range []string{"node-1", "node-2", "wave 1/1", "2 of 2 node(s) migrated"} {
		if !strings.Contains(out, want) {
			t.Errorf("the view lacks %q:\n%s", want, out)
		}
	}
	if recorded != 7 {
		t.Errorf("the wrapped sink saw %d events, want 7", recorded)
	}
}
