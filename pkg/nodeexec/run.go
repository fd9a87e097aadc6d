package nodeexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

// ErrStreamBroken means the exec stream ended before the script reported its
// exit code: the pod, its runtime or the node went away mid-run. The script
// may or may not have finished on the host.
var ErrStreamBroken = errors.New("stream broke before the end: the pod or node went away")

// Result is the outcome of a script that ran to the end.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// maxArgvBytes keeps the exec URL, which carries the command, well below the
// API server's and kubelet's request size limits.
const maxArgvBytes = 256 << 10

// stateDirEnv names crimig's host directory for every script.
const stateDirEnv = "CRIMIG_STATE_DIR"

// trailerPrefix starts the last stdout line the exec wrapper prints.
const trailerPrefix = "__CRIMIG_EXIT__ "

// nonceFunc makes each exec's trailer unique, so output that merely
// contains a trailer-like line is never mistaken for the end.
var nonceFunc = func() string { return utilrand.String(12) }

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Run runs script with /bin/sh on node's host, in the host's namespaces, with
// env added to its environment. A non-zero exit is not an error: check
// Result.ExitCode. A stream that breaks before the end returns an error
// wrapping ErrStreamBroken.
func (e *Executor) Run(ctx context.Context, node, script string, env map[string]string) (Result, error) {
	return e.run(ctx, node, script, env, nil, false)
}

func (e *Executor) run(ctx context.Context, node, script string, env map[string]string, stdin io.Reader, verify bool) (Result, error) {
	nonce := nonceFunc()
	if _, ok := env[stateDirEnv]; ok {
		return Result{}, fmt.Errorf("a script's environment may not set %s; the executor sets it", stateDirEnv)
	}
	all := make(map[string]string, len(env)+1)
	maps.Copy(all, env)
	all[stateDirEnv] = e.opts.StateDir
	argv, err := hostCommand(nonce, script, all)
	if err != nil {
		return Result{}, err
	}
	var tracker *readTracker
	if stdin != nil {
		tracker = &readTracker{r: stdin}
	}
	for attempt := 0; ; attempt++ {
		pod, err := e.podFor(ctx, node, verify)
		if err != nil {
			return Result{}, err
		}
		res, ok, streamErr := e.execOnce(ctx, node, pod, nonce, argv, tracker)
		if ok {
			return res, nil
		}
		// A refused upgrade means nothing ran, so a pod deleted behind our
		// back (kubectl delete, a reboot) can be replaced and the call retried.
		if attempt == 0 && ctx.Err() == nil && execRefused(streamErr) &&
			len(res.Stdout) == 0 && (tracker == nil || !tracker.touched.Load()) {
			e.markSuspect(node)
			if containerGone(streamErr) {
				e.markStale(node)
			}
			verify = true
			continue
		}
		return res, e.brokenStream(ctx, node, pod, streamErr)
	}
}

// execOnce runs argv in pod; ok reports that the exit trailer arrived.
func (e *Executor) execOnce(ctx context.Context, node, pod, nonce string, argv []string, stdin *readTracker) (Result, bool, error) {
	stdout := newLineWriter(node, e.opts.Out, trailerPrefix+nonce+" ")
	stderr := newLineWriter(node, e.opts.Err, "")
	opts := remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr}
	if stdin != nil {
		opts.Stdin = stdin
	}
	req := execRequest{Namespace: e.opts.Namespace, Pod: pod, Container: ContainerName, Command: argv, Stdin: stdin != nil}
	streamErr := e.stream(ctx, node, req, opts)
	stdout.flush()
	stderr.flush()

	res := Result{Stderr: stderr.buf.Bytes()}
	out, code, ok := parseTrailer(stdout.buf.Bytes(), nonce)
	res.Stdout = out
	// kwok reports a non-zero exit as a stream error; the trailer is the truth.
	res.ExitCode = code
	return res, ok, streamErr
}

// containerGone reports a refusal because the pod or its container no longer
// exists where the exec was sent.
func containerGone(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "not found") || strings.Contains(msg, "no such container")
}

func (e *Executor) markStale(node string) {
	st := e.node(node)
	st.mu.Lock()
	st.stale = true
	st.mu.Unlock()
}

func (e *Executor) markSuspect(node string) {
	st := e.node(node)
	st.mu.Lock()
	st.suspect = true
	st.mu.Unlock()
}

func (e *Executor) brokenStream(ctx context.Context, node, pod string, streamErr error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("running on node %s: %w", node, context.Cause(ctx))
	}
	e.markSuspect(node)
	if apierrors.IsForbidden(streamErr) || execRefused(streamErr) {
		// Nothing ran on the host: this is not a broken stream.
		hint := "check the node's kubelet, or retry"
		if apierrors.IsForbidden(streamErr) || strings.Contains(strings.ToLower(streamErr.Error()), "forbidden") {
			hint = "crimig needs create on pods/exec in namespace " + e.opts.Namespace
		}
		return fmt.Errorf("exec into crimig pod %s/%s on node %s was refused before anything ran (%s): %w",
			e.opts.Namespace, pod, node, hint, streamErr)
	}
	if streamErr == nil {
		return fmt.Errorf("node %s (pod %s): %w", node, pod, ErrStreamBroken)
	}
	return fmt.Errorf("node %s (pod %s): %w: %w", node, pod, ErrStreamBroken, streamErr)
}

// hostCommand is the exec argv: nsenter into PID 1's namespaces, then the
// host's /bin/sh (by absolute path, since busybox nsenter would otherwise run
// its own sh applet) runs the wrapper. The script and every NAME=VALUE are
// separate argv items, never shell text.
func hostCommand(nonce, script string, env map[string]string) ([]string, error) {
	argv := []string{"nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--",
		"/bin/sh", "-c", hostscripts.Get(hostscripts.ExecWrapper), "crimig-exec", nonce, script}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !envNameRE.MatchString(k) {
			return nil, fmt.Errorf("environment name %q is not a valid shell variable name", k)
		}
		if strings.IndexByte(env[k], 0) >= 0 {
			return nil, fmt.Errorf("environment value of %s contains a NUL byte, which exec cannot pass", k)
		}
		argv = append(argv, k+"="+env[k])
	}
	size := 0
	for _, a := range argv {
		size += len(a)
	}
	if size > maxArgvBytes {
		return nil, fmt.Errorf("script and environment are %d bytes, over the %d byte exec limit: upload large content with Upload instead",
			size, maxArgvBytes)
	}
	return argv, nil
}

// parseTrailer splits the wrapper's output into the script's stdout and its
// exit code. ok is false when the trailer is missing.
func parseTrailer(out []byte, nonce string) (stdout []byte, code int, ok bool) {
	marker := []byte("\n" + trailerPrefix + nonce + " ")
	i := bytes.LastIndex(out, marker)
	if i < 0 {
		return out, 0, false
	}
	rest := strings.TrimRight(string(out[i+len(marker):]), "\r\n")
	if strings.ContainsAny(rest, "\n") {
		return out, 0, false
	}
	code, err := strconv.Atoi(rest)
	if err != nil {
		return out, 0, false
	}
	return out[:i], code, true
}

// lineWriter keeps all output and hands each complete line to a hook.
type lineWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	node    string
	hook    func(node, line string)
	skip    string
	// heldEmpty is an empty line not yet handed to hook.
	heldEmpty bool
}

func newLineWriter(node string, hook func(node, line string), skip string) *lineWriter {
	return &lineWriter{node: node, hook: hook, skip: skip}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.hook == nil {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

// emit holds back one empty line, because the wrapper puts one before the
// trailer, and that line is not the script's.
func (w *lineWriter) emit(line string) {
	if w.skip != "" && strings.HasPrefix(line, w.skip) {
		w.heldEmpty = false
		return
	}
	if w.heldEmpty {
		w.hook(w.node, "")
		w.heldEmpty = false
	}
	if line == "" && w.skip != "" {
		w.heldEmpty = true
		return
	}
	w.hook(w.node, line)
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hook != nil && len(w.partial) > 0 {
		w.emit(string(w.partial))
	}
	if w.hook != nil && w.heldEmpty {
		w.hook(w.node, "")
		w.heldEmpty = false
	}
	w.partial = nil
}
