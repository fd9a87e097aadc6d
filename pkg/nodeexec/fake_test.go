package nodeexec

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/remotecommand"
)

// readyNode returns a Ready node.
func readyNode(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
		}},
	}
}

// fakeCluster is a fake clientset whose created pods are Running at once,
// unless podStatus says otherwise.
func fakeCluster(t *testing.T, podStatus func(*corev1.Pod), objs ...runtime.Object) *fake.Clientset {
	t.Helper()
	client := fake.NewClientset(objs...)
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		p.Status.Phase = corev1.PodRunning
		if podStatus != nil {
			podStatus(p)
		}
		return false, nil, nil
	})
	return client
}

// streamFunc is a remotecommand.Executor made of a function.
type streamFunc func(ctx context.Context, opts remotecommand.StreamOptions) error

func (f streamFunc) Stream(opts remotecommand.StreamOptions) error {
	return f(context.Background(), opts)
}

func (f streamFunc) StreamWithContext(ctx context.Context, opts remotecommand.StreamOptions) error {
	return f(ctx, opts)
}

// fakeStreams hands out the same transport function for both protocols and
// counts how often each was used.
type fakeStreams struct {
	ws, spdy         func(req execRequest) streamFunc
	wsUsed, spdyUsed atomic.Int32
	mu               sync.Mutex
	requests         []execRequest
}

func (f *fakeStreams) WebSocket(req execRequest) (remotecommand.Executor, error) {
	inner := f.ws(req)
	return streamFunc(func(ctx context.Context, o remotecommand.StreamOptions) error {
		f.wsUsed.Add(1)
		f.record(req)
		return inner(ctx, o)
	}), nil
}

func (f *fakeStreams) SPDY(req execRequest) (remotecommand.Executor, error) {
	inner := f.spdy(req)
	return streamFunc(func(ctx context.Context, o remotecommand.StreamOptions) error {
		f.spdyUsed.Add(1)
		f.record(req)
		return inner(ctx, o)
	}), nil
}

func (f *fakeStreams) record(req execRequest) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
}

func localStreams(env ...string) *fakeStreams {
	local := func(req execRequest) streamFunc { return localShell(req, env) }
	return &fakeStreams{ws: local, spdy: local}
}

// localShell runs the host part of the exec command (what follows nsenter's
// "--") on this machine. Like kwok, it never delivers stdin EOF: the host
// side has to end by length.
func localShell(req execRequest, env []string) streamFunc {
	return func(ctx context.Context, o remotecommand.StreamOptions) error {
		argv := req.Command
		for i, a := range argv {
			if a == "--" {
				argv = argv[i+1:]
				break
			}
		}
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
		cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
		// Cancelling kills the whole process group, as deleting a pod would.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 2 * time.Second
		var stdin io.WriteCloser
		if o.Stdin != nil {
			var err error
			if stdin, err = cmd.StdinPipe(); err != nil {
				return err
			}
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		if stdin != nil {
			go func() { _, _ = io.Copy(stdin, o.Stdin) }() // no Close: no EOF
		}
		err := cmd.Wait()
		if stdin != nil {
			_ = stdin.Close()
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			// kwok turns any non-zero exit into a generic error.
			return errors.New("command terminated with non-zero exit code")
		}
		return err
	}
}

func newTestExecutor(t *testing.T, client *fake.Clientset, streams streamFactory, opts Options) *Executor {
	t.Helper()
	fixedSuffix(t)
	e := newExecutor(client, opts, streams)
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

func podCreates(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource == "pods" {
			n++
		}
	}
	return n
}

// waitForWatches blocks until the fake clientset has seen n watch calls.
func waitForWatches(client *fake.Clientset, n int) {
	for i := 0; i < 500; i++ {
		w := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "watch" {
				w++
			}
		}
		if w >= n {
			time.Sleep(20 * time.Millisecond)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
