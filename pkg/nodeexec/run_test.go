package nodeexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

func TestParseTrailer(t *testing.T) {
	tests := []struct {
		name, out  string
		wantOut    string
		wantCode   int
		wantParsed bool
	}{
		{"output ends with newline", "hello\n\n__CRIMIG_EXIT__ N 0\n", "hello\n", 0, true},
		{"output without newline", "hello\n__CRIMIG_EXIT__ N 42\n", "hello", 42, true},
		{"no output", "\n__CRIMIG_EXIT__ N 1\n", "", 1, true},
		{"missing trailer", "hello\n", "hello\n", 0, false},
		{"cut inside trailer", "hello\n__CRIMIG_EXI", "hello\n__CRIMIG_EXI", 0, false},
		{"other nonce", "hello\n__CRIMIG_EXIT__ X 0\n", "hello\n__CRIMIG_EXIT__ X 0\n", 0, false},
		{"fake trailer then more output", "\n__CRIMIG_EXIT__ N 0\nmore\n", "\n__CRIMIG_EXIT__ N 0\nmore\n", 0, false},
		{"garbage code", "\n__CRIMIG_EXIT__ N zero\n", "\n__CRIMIG_EXIT__ N zero\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code, ok := parseTrailer([]byte(tt.out), "N")
			if string(out) != tt.wantOut || code != tt.wantCode || ok != tt.wantParsed {
				t.Errorf("parseTrailer(%q) = %q, %d, %v; want %q, %d, %v", tt.out, out, code, ok, tt.wantOut, tt.wantCode, tt.wantParsed)
			}
		})
	}
}

func TestHostCommand(t *testing.T) {
	argv, err := hostCommand("N", "echo hi", map[string]string{"B": "it's; $(x)", "A": "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "nsenter -t 1 -m -u -i -n -p -- /bin/sh -c"
	if strings.Join(argv[:11], " ") != want {
		t.Errorf("argv starts %q, want %q", strings.Join(argv[:11], " "), want)
	}
	tail := argv[12:]
	if strings.Join(tail, "|") != "crimig-exec|N|echo hi|A=1|B=it's; $(x)" {
		t.Errorf("argv tail = %q", tail)
	}
	for _, bad := range []map[string]string{{"A-B": "x"}, {"1A": "x"}, {"A": "x\x00y"}, {"A": strings.Repeat("x", maxArgvBytes)}} {
		if _, err := hostCommand("N", "true", bad); err == nil {
			t.Errorf("hostCommand accepted env %q", bad)
		}
	}
}

func TestRunReturnsExitCodeAndStreamsLines(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"))
	var mu sync.Mutex
	var lines []string
	hook := func(node, line string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, node+":"+line)
	}
	e := newTestExecutor(t, client, localStreams(), Options{Out: hook, Err: hook})
	res, err := e.Run(context.Background(), "node-1", `printf '%s\n' "$A" "two"; echo oops >&2; exit 3`,
		map[string]string{"A": "one 'quoted' $HOME"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || string(res.Stdout) != "one 'quoted' $HOME\ntwo\n" || string(res.Stderr) != "oops\n" {
		t.Errorf("Run = %+v (stdout %q)", res, res.Stdout)
	}
	mu.Lock()
	got := strings.Join(lines, ",")
	mu.Unlock()
	for _, want := range []string{"node-1:one 'quoted' $HOME", "node-1:two", "node-1:oops"} {
		if !strings.Contains(got, want) {
			t.Errorf("hooks got %q, missing %q", got, want)
		}
	}
	if strings.Contains(got, "__CRIMIG") || strings.Contains(got, "two,node-1:,") || strings.HasSuffix(got, "node-1:") {
		t.Errorf("hooks saw the trailer or its blank line: %q", got)
	}
	// The pod is reused for the next call.
	if _, err := e.Run(context.Background(), "node-1", "true", nil); err != nil {
		t.Fatal(err)
	}
	if n := podCreates(client); n != 1 {
		t.Errorf("%d pods created for two runs on one node, want 1", n)
	}
}

func TestStreamBrokenIsDistinctAndReplacesThePod(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"))
	broken := func(execRequest) streamFunc {
		return func(ctx context.Context, o remotecommand.StreamOptions) error {
			_, _ = io.WriteString(o.Stdout, "step 1 done\n")
			return errors.New("error reading from error stream: connection reset by peer")
		}
	}
	streams := &fakeStreams{ws: broken, spdy: broken}
	e := newTestExecutor(t, client, streams, Options{})
	res, err := e.Run(context.Background(), "node-1", "echo step 1 done; systemctl stop docker", nil)
	if !errors.Is(err, ErrStreamBroken) {
		t.Fatalf("err = %v, want ErrStreamBroken", err)
	}
	if string(res.Stdout) != "step 1 done\n" {
		t.Errorf("partial stdout = %q", res.Stdout)
	}
	// The runtime took the pod with it.
	pods, _ := client.CoreV1().Pods(DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	for _, p := range pods.Items {
		_ = client.CoreV1().Pods(DefaultNamespace).Delete(context.Background(), p.Name, metav1.DeleteOptions{})
	}
	ok := localStreams()
	streams.ws, streams.spdy = ok.ws, ok.spdy
	res, err = e.Run(context.Background(), "node-1", "echo again", nil)
	if err != nil || string(res.Stdout) != "again\n" {
		t.Fatalf("Run after a broken stream = %q, %v", res.Stdout, err)
	}
	if n := podCreates(client); n != 2 {
		t.Errorf("%d pods created, want a fresh one after the stream broke (2)", n)
	}
}

func TestCancelledRunIsNotStreamBroken(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"))
	e := newTestExecutor(t, client, localStreams(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := e.Run(ctx, "node-1", "true", nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := e.Run(ctx, "node-1", "sleep 30", nil)
		done <- err
	}()
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrStreamBroken) {
		t.Errorf("err = %v, want context.Canceled and not ErrStreamBroken", err)
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	pods, _ := client.CoreV1().Pods(DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	if len(pods.Items) != 0 {
		t.Errorf("Close after Ctrl-C left %d pods", len(pods.Items))
	}
}

func TestSPDYFallbackForCriDockerd(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"), readyNode("node-2"))
	local := localStreams()
	streams := &fakeStreams{
		ws: func(req execRequest) streamFunc {
			if strings.Contains(req.Pod, "node-1") {
				return func(context.Context, remotecommand.StreamOptions) error {
					// What the API server relays from a cri-dockerd 0.4.x node (design 7b).
					return errors.New(`error sending request: Post "https://127.0.0.1:10250/exec/crimig-system/crimig-node-1-xxxxx/crimig": ` + plainHTTPBackend)
				}
			}
			return local.ws(req)
		},
		spdy: local.spdy,
	}
	var events []Event
	var mu sync.Mutex
	e := newTestExecutor(t, client, streams, Options{OnEvent: func(ev Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}})
	for i := 0; i < 3; i++ {
		res, err := e.Run(context.Background(), "node-1", "echo over spdy", nil)
		if err != nil || string(res.Stdout) != "over spdy\n" {
			t.Fatalf("run %d on node-1 = %q, %v", i, res.Stdout, err)
		}
	}
	if got := streams.wsUsed.Load(); got != 1 {
		t.Errorf("websocket tried %d times on node-1, want once and then remembered SPDY", got)
	}
	if got := streams.spdyUsed.Load(); got != 3 {
		t.Errorf("SPDY used %d times, want 3", got)
	}
	if _, err := e.Run(context.Background(), "node-2", "true", nil); err != nil {
		t.Fatal(err)
	}
	if got := streams.wsUsed.Load(); got != 2 {
		t.Errorf("node-2 did not use websockets (ws count %d)", got)
	}
	fallbacks := 0
	for _, ev := range events {
		if ev.Kind == EventSPDYFallback && ev.Node == "node-1" {
			fallbacks++
		}
	}
	if fallbacks != 1 {
		t.Errorf("%d fallback events for node-1, want 1: %+v", fallbacks, events)
	}
}

func TestNoFallbackOnOtherErrors(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"))
	fail := func(execRequest) streamFunc {
		return func(context.Context, remotecommand.StreamOptions) error { return errors.New("boom") }
	}
	streams := &fakeStreams{ws: fail, spdy: localStreams().spdy}
	e := newTestExecutor(t, client, streams, Options{})
	if _, err := e.Run(context.Background(), "node-1", "true", nil); !errors.Is(err, ErrStreamBroken) {
		t.Errorf("err = %v, want ErrStreamBroken", err)
	}
	if streams.spdyUsed.Load() != 0 {
		t.Error("fell back to SPDY on an unrelated error")
	}
}

func TestShouldFallbackToSPDY(t *testing.T) {
	if !shouldFallbackToSPDY(errors.New("x: " + plainHTTPBackend)) {
		t.Error("cri-dockerd error not recognised")
	}
	// client-go's websocket executor reports k8s.io/streaming's type, not apimachinery's.
	if !shouldFallbackToSPDY(&httpstream.UpgradeFailureError{Cause: errors.New("websocket: bad handshake")}) {
		t.Error("a failed websocket upgrade does not fall back")
	}
	if shouldFallbackToSPDY(errors.New("connection refused")) || shouldFallbackToSPDY(nil) {
		t.Error("unrelated error recognised")
	}
}

func TestImagePullFailureNamesTheImage(t *testing.T) {
	client := fakeCluster(t, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"},
		}}}
	}, readyNode("node-1"))
	e := newTestExecutor(t, client, localStreams(), Options{Image: "registry.internal/busybox:1.36"})
	_, err := e.Run(context.Background(), "node-1", "true", nil)
	var pull *ImagePullError
	if !errors.As(err, &pull) || pull.Image != "registry.internal/busybox:1.36" {
		t.Fatalf("err = %v, want ImagePullError", err)
	}
	for _, want := range []string{"registry.internal/busybox:1.36", "--image", "CRIMIG_IMAGE", "--image-pull-secret"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	pods, _ := client.CoreV1().Pods(DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	if len(pods.Items) != 0 {
		t.Error("the pod that could not pull its image was left behind")
	}
}

func TestPodStartErrors(t *testing.T) {
	notReady := readyNode("sick")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	failed := func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.Reason = "OutOfcpu"
		p.Status.Message = "Node didn't have enough resource: cpu"
	}
	tests := []struct {
		name, node string
		status     func(*corev1.Pod)
		want       string
	}{
		{"unknown node", "ghost", nil, `node "ghost" not found`},
		{"not ready", "sick", nil, "is not Ready"},
		{"pod failed", "node-1", failed, "OutOfcpu: Node didn't have enough resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fakeCluster(t, tt.status, readyNode("node-1"), notReady)
			e := newTestExecutor(t, client, localStreams(), Options{})
			_, err := e.Run(context.Background(), tt.node, "true", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNodeDeletedWhileWaiting(t *testing.T) {
	pending := func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }
	client := fakeCluster(t, pending, readyNode("node-1"))
	var once sync.Once
	e := newTestExecutor(t, client, localStreams(), Options{OnEvent: func(ev Event) {
		if ev.Kind == EventPodCreating {
			once.Do(func() {
				go func() {
					// Give the watches a moment to start, then take the node away.
					waitForWatches(client, 2)
					_ = client.CoreV1().Nodes().Delete(context.Background(), "node-1", metav1.DeleteOptions{})
				}()
			})
		}
	}})
	_, err := e.Run(context.Background(), "node-1", "true", nil)
	if err == nil || !strings.Contains(err.Error(), "node node-1 was deleted") {
		t.Errorf("err = %v, want the node deletion named", err)
	}
}

func TestRunReplacesAPodDeletedBehindItsBack(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"))
	local := localStreams()
	gone := func(req execRequest) streamFunc {
		_, err := client.CoreV1().Pods(req.Namespace).Get(context.Background(), req.Pod, metav1.GetOptions{})
		if err != nil {
			return func(context.Context, remotecommand.StreamOptions) error {
				// What SPDY reports after the websocket upgrade failed the same way.
				return fmt.Errorf("unable to upgrade connection: pods %q not found", req.Pod)
			}
		}
		return local.ws(req)
	}
	streams := &fakeStreams{ws: gone, spdy: gone}
	var events []Event
	e := newTestExecutor(t, client, streams, Options{OnEvent: func(ev Event) { events = append(events, ev) }})
	if _, err := e.Run(context.Background(), "node-1", "true", nil); err != nil {
		t.Fatal(err)
	}
	pods, _ := client.CoreV1().Pods(DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	_ = client.CoreV1().Pods(DefaultNamespace).Delete(context.Background(), pods.Items[0].Name, metav1.DeleteOptions{})

	res, err := e.Run(context.Background(), "node-1", "echo fresh", nil)
	if err != nil || string(res.Stdout) != "fresh\n" {
		t.Fatalf("Run after the pod was deleted = %q, %v", res.Stdout, err)
	}
	if n := podCreates(client); n != 2 {
		t.Errorf("%d pods created, want 2", n)
	}
	for _, ev := range events {
		if ev.Kind == EventSPDYFallback {
			t.Errorf("a missing pod pinned the node to SPDY: %+v", ev)
		}
	}
}

func TestExecRefused(t *testing.T) {
	for _, err := range []error{
		&httpstream.UpgradeFailureError{Cause: errors.New("websocket: bad handshake (404 Not Found)")},
		fmt.Errorf("wrapped: %w", &httpstream.UpgradeFailureError{Cause: errors.New("x")}),
		errors.New(`unable to upgrade connection: pods "p" not found`),
	} {
		if !execRefused(err) {
			t.Errorf("execRefused(%v) = false", err)
		}
	}
	for _, err := range []error{nil, errors.New("connection reset by peer"), ErrStreamBroken} {
		if execRefused(err) {
			t.Errorf("execRefused(%v) = true", err)
		}
	}
}

func TestRefusedExecIsNotStreamBroken(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"))
	refuse := func(execRequest) streamFunc {
		return func(context.Context, remotecommand.StreamOptions) error {
			return fmt.Errorf(`unable to upgrade connection: pods "crimig-node-1-xxxxx" is forbidden: User "dev" cannot create resource "pods/exec"`)
		}
	}
	streams := &fakeStreams{ws: refuse, spdy: refuse}
	e := newTestExecutor(t, client, streams, Options{})
	_, err := e.Run(context.Background(), "node-1", "true", nil)
	if err == nil || errors.Is(err, ErrStreamBroken) || !strings.Contains(err.Error(), "create on pods/exec") {
		t.Errorf("err = %v, want a refusal that names pods/exec", err)
	}
	if n := podCreates(client); n != 1 {
		t.Errorf("%d pods created; a running pod must be reused on retry", n)
	}
}

// After a runtime swap the API can still show the old pod Running while the
// new runtime has never heard of its container.
func TestRunReplacesAPodItsRuntimeForgot(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"))
	local := localStreams()
	var forgotten sync.Map
	swapped := func(req execRequest) streamFunc {
		if _, gone := forgotten.Load(req.Pod); gone {
			return func(context.Context, remotecommand.StreamOptions) error {
				return errors.New(`unable to upgrade connection: container not found ("crimig")`)
			}
		}
		return local.ws(req)
	}
	fixedSuffix(t)
	n := 0
	nameSuffixFunc = func(int) string { n++; return fmt.Sprintf("p%04d", n) }
	e := newExecutor(client, Options{}, &fakeStreams{ws: swapped, spdy: swapped})
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	if _, err := e.Run(context.Background(), "node-1", "true", nil); err != nil {
		t.Fatal(err)
	}
	forgotten.Store("crimig-node-1-p0001", true)
	res, err := e.Run(context.Background(), "node-1", "echo on the new runtime", nil)
	if err != nil || string(res.Stdout) != "on the new runtime\n" {
		t.Fatalf("Run = %q, %v", res.Stdout, err)
	}
	if n := podCreates(client); n != 2 {
		t.Errorf("%d pods created, want 2", n)
	}
}

// Every script gets crimig's host directory from the executor, and no
// caller can hand it another.
func TestRunPassesTheStateDir(t *testing.T) {
	for _, tc := range []struct{ opt, want string }{{"", hostscripts.StateDir}, {"/tmp/crimig-test", "/tmp/crimig-test"}} {
		e := newTestExecutor(t, fakeCluster(t, nil, readyNode("node-1")), localStreams(), Options{StateDir: tc.opt})
		res, err := e.Run(context.Background(), "node-1", `printf '%s' "$CRIMIG_STATE_DIR"`, nil)
		if err != nil || string(res.Stdout) != tc.want {
			t.Errorf("StateDir %q: the script saw %q (%v), want %q", tc.opt, res.Stdout, err, tc.want)
		}
		if _, err := e.Run(context.Background(), "node-1", "true", map[string]string{"CRIMIG_STATE_DIR": "/elsewhere"}); err == nil ||
			!strings.Contains(err.Error(), "may not set CRIMIG_STATE_DIR") {
			t.Errorf("a caller's CRIMIG_STATE_DIR: err = %v", err)
		}
	}
}

// TestCloseDeletesInParallel: Close deletes the pods several at a time,
// never more than Options.Parallel.
func TestCloseDeletesInParallel(t *testing.T) {
	var nodes []string
	var objs []runtime.Object
	for i := range 12 {
		name := fmt.Sprintf("node-%d", i)
		nodes = append(nodes, name)
		objs = append(objs, readyNode(name))
	}
	client := fakeCluster(t, nil, objs...)
	// The fake runs one reactor at a time: the deletes are counted around it.
	counting := &deleteCounter{Clientset: client}
	fixedSuffix(t)
	e := newExecutor(counting, Options{Parallel: 4}, localStreams())
	ctx := context.Background()
	if err := e.ForEachNode(ctx, nodes, func(ctx context.Context, node string) error {
		_, err := e.Run(ctx, node, "true", nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	pods, _ := client.CoreV1().Pods(DefaultNamespace).List(ctx, metav1.ListOptions{})
	if len(pods.Items) != 0 {
		t.Errorf("Close left %d of 12 pods", len(pods.Items))
	}
	if counting.most < 2 || counting.most > 4 {
		t.Errorf("at most %d deletes ran at once, want 2 to 4 (Parallel 4)", counting.most)
	}
}

// deleteCounter records how many pod deletes run at once, each held 20 ms.
type deleteCounter struct {
	*fake.Clientset
	mu             sync.Mutex
	inFlight, most int
}

func (c *deleteCounter) CoreV1() typedcorev1.CoreV1Interface {
	return countingCore{c.Clientset.CoreV1(), c}
}

type countingCore struct {
	typedcorev1.CoreV1Interface
	c *deleteCounter
}

func (cc countingCore) Pods(ns string) typedcorev1.PodInterface {
	return countingPods{cc.CoreV1Interface.Pods(ns), cc.c}
}

type countingPods struct {
	typedcorev1.PodInterface
	c *deleteCounter
}

func (p countingPods) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	p.c.mu.Lock()
	p.c.inFlight++
	p.c.most = max(p.c.most, p.c.inFlight)
	p.c.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	p.c.mu.Lock()
	p.c.inFlight--
	p.c.mu.Unlock()
	return p.PodInterface.Delete(ctx, name, opts)
}
