package nodeexec

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

// DefaultStartTimeout bounds the wait for a node pod to run.
const DefaultStartTimeout = 2 * time.Minute

// Options configure an Executor. The zero value of every field is usable.
type Options struct {
	// Image for node pods; DefaultImage when empty. The CLI binds --image and CRIMIG_IMAGE.
	Image string
	// Namespace for node pods; DefaultNamespace when empty. The CLI binds --pod-namespace.
	Namespace string
	// PullSecrets are image pull secret names in Namespace (--image-pull-secret).
	PullSecrets []string
	// RunID labels the pods; NewRunID() when empty.
	RunID string
	// Parallel bounds Executor.ForEachNode; DefaultParallel when zero.
	Parallel int
	// Deadline is each pod's activeDeadlineSeconds; DefaultDeadline when zero.
	Deadline time.Duration
	// StartTimeout bounds the wait for a pod to run; DefaultStartTimeout when zero.
	StartTimeout time.Duration
	// StateDir is crimig's directory on the hosts, which every script gets
	// as CRIMIG_STATE_DIR; hostscripts.StateDir when empty. Only tests that
	// run the scripts on their own machine change it.
	StateDir string

	// Out and Err, when set, receive each line of a script's stdout and
	// stderr as it arrives (the trailer line excluded). Result has them all.
	Out func(node, line string)
	Err func(node, line string)
	// OnEvent, when set, receives pod lifecycle and transport events.
	OnEvent func(Event)
}

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	EventPodCreating  EventKind = "PodCreating"
	EventPodRunning   EventKind = "PodRunning"
	EventPodDeleted   EventKind = "PodDeleted"
	EventSPDYFallback EventKind = "SPDYFallback"
)

// Event reports something the Executor did.
type Event struct {
	Node    string
	Pod     string
	Kind    EventKind
	Message string
}

// Executor runs host scripts on nodes through one privileged pod per node.
// It is safe for concurrent use. Call Close when done, on every path.
type Executor struct {
	client  kubernetes.Interface
	opts    Options
	streams streamFactory

	mu      sync.Mutex
	nodes   map[string]*nodeState
	created map[string]string // pod name -> node, every pod this Executor made
	nsReady bool
	nsMu    sync.Mutex
}

// nodeState is what the Executor knows about one node.
type nodeState struct {
	// mu guards pod, suspect and stale, and is held while a pod is being
	// made for the node. spdy is guarded by Executor.mu.
	mu      sync.Mutex
	pod     string
	suspect bool // the last exec broke: check the pod before reusing it
	// stale: the runtime no longer knows the pod's container, though the API
	// may still say Running (after a runtime swap or a reboot): replace it.
	stale bool
	spdy  bool // websockets failed on this node: use SPDY from now on
}

// New returns an Executor that reaches nodes through config and client.
func New(config *rest.Config, client kubernetes.Interface, opts Options) (*Executor, error) {
	if config == nil || client == nil {
		return nil, errors.New("nodeexec: a rest config and a clientset are required")
	}
	return newExecutor(client, opts, &restStreamFactory{config: config, client: client}), nil
}

func newExecutor(client kubernetes.Interface, opts Options, streams streamFactory) *Executor {
	if opts.Image == "" {
		opts.Image = DefaultImage
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.StateDir == "" {
		opts.StateDir = hostscripts.StateDir
	}
	if opts.RunID == "" {
		opts.RunID = NewRunID()
	}
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultParallel
	}
	if opts.Deadline <= 0 {
		opts.Deadline = DefaultDeadline
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	return &Executor{
		client:  client,
		opts:    opts,
		streams: streams,
		nodes:   map[string]*nodeState{},
		created: map[string]string{},
	}
}

// NewRunID returns a fresh run id: lowercase letters and digits, usable in
// label values, paths and systemd unit names.
func NewRunID() string {
	return time.Now().UTC().Format("20060102t150405") + "-" + utilrand.String(5)
}

// RunID is the run id the Executor labels its pods with.
func (e *Executor) RunID() string { return e.opts.RunID }

// Namespace is where the Executor makes its pods.
func (e *Executor) Namespace() string { return e.opts.Namespace }

// Image is the image of the Executor's node pods.
func (e *Executor) Image() string { return e.opts.Image }

func (e *Executor) emit(ev Event) {
	if e.opts.OnEvent != nil {
		e.opts.OnEvent(ev)
	}
}

func (e *Executor) node(name string) *nodeState {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.nodes[name]
	if !ok {
		st = &nodeState{}
		e.nodes[name] = st
	}
	return st
}

// Close deletes every pod this Executor created. It keeps working after ctx
// is cancelled (Ctrl-C), for up to 30 seconds, so call it on every path:
//
//	defer exec.Close(ctx)
func (e *Executor) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	e.mu.Lock()
	pods := e.created
	e.created = map[string]string{}
	e.nodes = map[string]*nodeState{}
	e.mu.Unlock()

	// As many deletes at once as nodes were worked on at once: one at a
	// time, 200 pods took longer than the 30 seconds given.
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, max(e.opts.Parallel, 1))
	for pod, node := range pods {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := e.deletePod(ctx, node, pod); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return utilerrors.NewAggregate(errs)
}

func (e *Executor) deletePod(ctx context.Context, node, pod string) error {
	err := e.client.CoreV1().Pods(e.opts.Namespace).Delete(ctx, pod, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		PropagationPolicy:  ptrTo(metav1.DeletePropagationBackground),
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting node pod %s/%s (delete it with kubectl, or the next crimig command will): %w",
			e.opts.Namespace, pod, err)
	}
	e.emit(Event{Node: node, Pod: pod, Kind: EventPodDeleted})
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// podRunning reports whether a pod can take execs.
func podRunning(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning
}
