package nodeexec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// execRequest is one exec into a node pod.
type execRequest struct {
	Namespace, Pod, Container string
	Command                   []string
	Stdin                     bool
}

// streamFactory builds the two exec transports. Tests replace it.
type streamFactory interface {
	WebSocket(req execRequest) (remotecommand.Executor, error)
	SPDY(req execRequest) (remotecommand.Executor, error)
}

type restStreamFactory struct {
	config *rest.Config
	client kubernetes.Interface
}

func (f *restStreamFactory) url(req execRequest, method string) *rest.Request {
	r := f.client.CoreV1().RESTClient().Verb(method).
		Namespace(req.Namespace).Resource("pods").Name(req.Pod).SubResource("exec")
	return r.VersionedParams(&corev1.PodExecOptions{
		Container: req.Container,
		Command:   req.Command,
		Stdin:     req.Stdin,
		Stdout:    true,
		Stderr:    true,
	}, scheme.ParameterCodec)
}

func (f *restStreamFactory) WebSocket(req execRequest) (remotecommand.Executor, error) {
	return remotecommand.NewWebSocketExecutor(f.config, "GET", f.url(req, "GET").URL().String())
}

func (f *restStreamFactory) SPDY(req execRequest) (remotecommand.Executor, error) {
	return remotecommand.NewSPDYExecutor(f.config, "POST", f.url(req, "POST").URL())
}

// plainHTTPBackend is what the API server reports when the kubelet proxies a
// websocket exec to a cri-dockerd 0.4.x streaming server (design 7b). The
// stock client-go fallback does not recognise it; SPDY works.
const plainHTTPBackend = "http: server gave HTTP response to HTTPS client"

func shouldFallbackToSPDY(err error) bool {
	return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err) ||
		(err != nil && strings.Contains(err.Error(), plainHTTPBackend))
}

// execRefused reports an exec the API server or kubelet refused before any
// command ran: a failed websocket upgrade, or SPDY's plain-text equivalent.
func execRefused(err error) bool {
	return err != nil && (httpstream.IsUpgradeFailure(err) || strings.Contains(err.Error(), "unable to upgrade connection"))
}

// errStdinConsumed stops a retry that would send a partly read stdin.
var errStdinConsumed = errors.New("the websocket exec failed after reading stdin, so it cannot be retried over SPDY; retry the command")

// stream runs one exec on node: over websockets with a fallback to SPDY, or
// straight over SPDY once websockets failed on that node.
func (e *Executor) stream(ctx context.Context, node string, req execRequest, opts remotecommand.StreamOptions) error {
	st := e.node(node)
	e.mu.Lock()
	useSPDY := st.spdy
	e.mu.Unlock()
	spdy, err := e.streams.SPDY(req)
	if err != nil {
		return err
	}
	if useSPDY {
		return spdy.StreamWithContext(ctx, opts)
	}
	ws, err := e.streams.WebSocket(req)
	if err != nil {
		return err
	}
	var stdin *readTracker
	if opts.Stdin != nil {
		stdin = &readTracker{r: opts.Stdin}
		opts.Stdin = stdin
	}
	secondary := &spdyFallback{Executor: spdy, stdin: stdin, remember: func(cause error) {
		e.mu.Lock()
		st.spdy = true
		e.mu.Unlock()
		e.emit(Event{Node: node, Pod: req.Pod, Kind: EventSPDYFallback,
			Message: "websocket exec failed, using SPDY for this node from now on: " + cause.Error()})
	}}
	var cause error
	fallback, err := remotecommand.NewFallbackExecutor(ws, secondary, func(err error) bool {
		cause = err
		return shouldFallbackToSPDY(err)
	})
	if err != nil {
		return err
	}
	secondary.cause = func() error { return cause }
	return fallback.StreamWithContext(ctx, opts)
}

// spdyFallback is the secondary executor: it records that the node needs
// SPDY, and refuses to resend a stdin the websocket attempt already read.
type spdyFallback struct {
	remotecommand.Executor
	stdin    *readTracker
	cause    func() error
	remember func(cause error)
}

func (s *spdyFallback) StreamWithContext(ctx context.Context, opts remotecommand.StreamOptions) error {
	if s.stdin != nil && s.stdin.touched.Load() {
		return errStdinConsumed
	}
	err := s.Executor.StreamWithContext(ctx, opts)
	// When SPDY cannot connect either (the pod is gone, say), websockets were
	// not the problem: do not pin the node to SPDY.
	if !execRefused(err) {
		s.remember(s.cause())
	}
	return err
}

type readTracker struct {
	r       io.Reader
	touched atomic.Bool
}

func (t *readTracker) Read(p []byte) (int, error) {
	t.touched.Store(true)
	return t.r.Read(p)
}

// ExecPod runs cmd in a container of any pod on node (not a crimig node
// pod): the smoke test's exec check. It returns what the command printed;
// a non-zero exit is an error.
func (e *Executor) ExecPod(ctx context.Context, node, namespace, pod, container string, cmd []string) (stdout, stderr []byte, err error) {
	var out, errOut bytes.Buffer
	req := execRequest{Namespace: namespace, Pod: pod, Container: container, Command: cmd}
	err = e.stream(ctx, node, req, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
	return out.Bytes(), errOut.Bytes(), err
}
