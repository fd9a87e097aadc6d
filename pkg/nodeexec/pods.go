package nodeexec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// ImagePullError says that a node could not pull the node pod's image.
type ImagePullError struct {
	Node, Image, Reason, Message string
}

func (e *ImagePullError) Error() string {
	return fmt.Sprintf("node %s cannot pull the crimig pod image %q (%s: %s): pass --image (or set CRIMIG_IMAGE) "+
		"to an image with sh, sleep and nsenter that the node can pull, such as a mirror of %s, "+
		"and --image-pull-secret if that registry needs credentials",
		e.Node, e.Image, e.Reason, e.Message, DefaultImage)
}

// podFor returns the name of a running pod on node, making one if needed.
// With verify, a cached pod is checked with the API server first.
func (e *Executor) podFor(ctx context.Context, node string, verify bool) (string, error) {
	st := e.node(node)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pod != "" && !st.suspect && !verify {
		return st.pod, nil
	}
	if st.pod != "" && !st.stale {
		p, err := e.client.CoreV1().Pods(e.opts.Namespace).Get(ctx, st.pod, metav1.GetOptions{})
		if err == nil && podRunning(p) {
			st.suspect = false
			return st.pod, nil
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return "", fmt.Errorf("checking node pod %s on node %s: %w", st.pod, node, err)
		}
	}
	if st.pod != "" {
		// The pod died with its runtime, or the node rebooted: make a fresh one.
		_ = e.deletePod(ctx, node, st.pod)
		e.forget(st.pod)
		st.pod = ""
	}
	pod, err := e.startPod(ctx, node)
	if err != nil {
		return "", err
	}
	st.pod, st.suspect, st.stale = pod, false, false
	return pod, nil
}

func (e *Executor) forget(pod string) {
	e.mu.Lock()
	delete(e.created, pod)
	e.mu.Unlock()
}

// startPod creates a node pod and waits until it runs. A pod that never
// runs is deleted again.
func (e *Executor) startPod(ctx context.Context, node string) (string, error) {
	if err := e.prepareNamespace(ctx); err != nil {
		return "", err
	}
	if err := e.checkNode(ctx, node); err != nil {
		return "", err
	}
	pod := BuildPod(PodSpecInput{
		Node: node, Image: e.opts.Image, Namespace: e.opts.Namespace,
		PullSecrets: e.opts.PullSecrets, RunID: e.opts.RunID, Deadline: e.opts.Deadline,
	})
	e.emit(Event{Node: node, Pod: pod.Name, Kind: EventPodCreating, Message: "image " + pod.Spec.Containers[0].Image})
	created, err := e.client.CoreV1().Pods(e.opts.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating the crimig pod on node %s: %w", node, mapAdmissionError(err, e.opts.Namespace))
	}
	e.mu.Lock()
	e.created[created.Name] = node
	e.mu.Unlock()
	if err := e.waitRunning(ctx, created); err != nil {
		// Delete even when ctx was cancelled: a pod that never ran is no use.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = e.deletePod(dctx, node, created.Name)
		e.forget(created.Name)
		return "", err
	}
	e.emit(Event{Node: node, Pod: created.Name, Kind: EventPodRunning})
	return created.Name, nil
}

func (e *Executor) prepareNamespace(ctx context.Context) error {
	e.nsMu.Lock()
	defer e.nsMu.Unlock()
	if e.nsReady {
		return nil
	}
	if err := PrepareNamespace(ctx, e.client, e.opts.Namespace); err != nil {
		return err
	}
	e.nsReady = true
	return nil
}

func (e *Executor) checkNode(ctx context.Context, node string) error {
	n, err := e.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("node %q not found: check the name with \"kubectl get nodes\"", node)
	}
	if err != nil {
		return fmt.Errorf("reading node %s: %w", node, err)
	}
	if !nodeReady(n) {
		return fmt.Errorf("node %s is not Ready, so its kubelet cannot start crimig's pod: "+
			"check \"kubectl describe node %s\" and the kubelet on the host, then retry", node, node)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

var errPodStartTimeout = errors.New("timed out")

// waitRunning watches the pod (no polling) until it runs, fails, or its node
// goes away.
func (e *Executor) waitRunning(ctx context.Context, pod *corev1.Pod) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, e.opts.StartTimeout, errPodStartTimeout)
	defer cancelTimeout()
	go e.watchNodeGone(ctx, pod.Spec.NodeName, cancel)

	pods := e.client.CoreV1().Pods(pod.Namespace)
	sel := fields.OneTermEqualSelector("metadata.name", pod.Name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return pods.Watch(ctx, o)
		},
	}
	// The wrapper tells the reflector when a client (a fake) cannot do watch-list.
	plw := cache.ToListWatcherWithWatchListSemantics(lw, e.client)
	_, err := watchtools.UntilWithSync(ctx, plw, &corev1.Pod{}, nil, podStarted(pod.Name, pod.Spec.NodeName))
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		switch {
		case errors.Is(cause, errPodStartTimeout):
			return fmt.Errorf("crimig pod %s on node %s did not start within %s: "+
				"\"kubectl -n %s describe pod %s\" shows why", pod.Name, pod.Spec.NodeName, e.opts.StartTimeout, pod.Namespace, pod.Name)
		case errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded):
			return fmt.Errorf("waiting for crimig pod %s on node %s: %w", pod.Name, pod.Spec.NodeName, cause)
		default:
			return cause
		}
	}
	return err
}

// watchNodeGone cancels the wait when the pod's node is deleted.
func (e *Executor) watchNodeGone(ctx context.Context, node string, cancel context.CancelCauseFunc) {
	w, err := e.client.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", node).String(),
	})
	if err != nil {
		return
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			if n, isNode := ev.Object.(*corev1.Node); ev.Type == watch.Deleted && isNode && n.Name == node {
				cancel(fmt.Errorf("node %s was deleted while crimig waited for its pod", node))
				return
			}
		}
	}
}

// podStarted is the watch condition: true once the pod runs, an error when
// it can never run.
func podStarted(name, node string) watchtools.ConditionFunc {
	return func(ev watch.Event) (bool, error) {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || p.Name != name {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("crimig pod %s on node %s was deleted before it started "+
				"(was the node's container runtime stopped?): retry once the node is Ready", name, node)
		}
		switch p.Status.Phase {
		case corev1.PodRunning:
			return true, nil
		case corev1.PodFailed, corev1.PodSucceeded:
			return false, fmt.Errorf("crimig pod %s on node %s ended before it could be used (%s): %s",
				name, node, p.Status.Phase, podProblem(p))
		}
		return false, containerProblem(p, node)
	}
}

// containerProblem returns an error for waiting states that never resolve.
func containerProblem(p *corev1.Pod, node string) error {
	for _, cs := range p.Status.ContainerStatuses {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
			image := cs.Image
			if len(p.Spec.Containers) > 0 {
				image = p.Spec.Containers[0].Image
			}
			return &ImagePullError{Node: node, Image: image, Reason: w.Reason, Message: w.Message}
		case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
			return fmt.Errorf("node %s could not start the crimig container (%s): %s", node, w.Reason, w.Message)
		}
	}
	return nil
}

func podProblem(p *corev1.Pod) string {
	parts := []string{}
	if p.Status.Reason != "" {
		parts = append(parts, p.Status.Reason)
	}
	if p.Status.Message != "" {
		parts = append(parts, p.Status.Message)
	}
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			parts = append(parts, fmt.Sprintf("container exited %d (%s) %s", t.ExitCode, t.Reason, strings.TrimSpace(t.Message)))
		}
	}
	if len(parts) == 0 {
		return "no reason given"
	}
	return strings.Join(parts, ": ")
}
