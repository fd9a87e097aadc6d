package tui

import (
	"context"
	"fmt"
	"sort"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/pager"
)

// Source feeds the status view. Updates delivers the latest snapshot after
// every change and closes when the source stops. Only the newest snapshot
// matters, so a slow reader skips intermediate ones.
type Source interface {
	Updates() <-chan Snapshot
}

// coalesce bounds how often a burst of watch events becomes a snapshot; it
// keeps updates well under a second after a change.
const coalesce = 100 * time.Millisecond

// WatchSource watches Nodes and the Leases of one namespace through
// informers: one list and one watch per kind, no polling.
type WatchSource struct {
	client    kubernetes.Interface
	namespace string
	out       chan Snapshot
	dirty     chan struct{}
	leaseErr  chan error
}

// NewWatchSource returns a source for Nodes and the Leases in namespace.
// Nothing happens until Start.
func NewWatchSource(client kubernetes.Interface, namespace string) *WatchSource {
	return &WatchSource{
		client: client, namespace: namespace,
		out: make(chan Snapshot, 1), dirty: make(chan struct{}, 1), leaseErr: make(chan error, 1),
	}
}

// Updates implements Source.
func (w *WatchSource) Updates() <-chan Snapshot { return w.out }

// Start runs the informers until ctx is done, waits for the Node cache, and
// sends the first snapshot. The Lease informer does not hold up the start:
// a user who may not read Leases still sees the nodes, with a warning.
func (w *WatchSource) Start(ctx context.Context) error {
	nodeFactory := informers.NewSharedInformerFactory(w.client, 0)
	leaseFactory := informers.NewSharedInformerFactoryWithOptions(w.client, 0, informers.WithNamespace(w.namespace))
	nodes := nodeFactory.Core().V1().Nodes()
	leases := leaseFactory.Coordination().V1().Leases()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.markDirty() },
		UpdateFunc: func(any, any) { w.markDirty() },
		DeleteFunc: func(any) { w.markDirty() },
	}
	if _, err := nodes.Informer().AddEventHandler(handler); err != nil {
		return err
	}
	if _, err := leases.Informer().AddEventHandler(handler); err != nil {
		return err
	}
	if err := leases.Informer().SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		select {
		case w.leaseErr <- err:
		default:
		}
		w.markDirty()
	}); err != nil {
		return err
	}
	nodeFactory.Start(ctx.Done())
	leaseFactory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), nodes.Informer().HasSynced) {
		return fmt.Errorf("waiting for the node watch: %w", context.Cause(ctx))
	}
	go w.loop(ctx, nodes.Lister().List, leases.Lister().List, leases.Informer().HasSynced)
	return nil
}

func (w *WatchSource) markDirty() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

type nodeList func(labels.Selector) ([]*corev1.Node, error)
type leaseList func(labels.Selector) ([]*coordinationv1.Lease, error)

func (w *WatchSource) loop(ctx context.Context, listNodes nodeList, listLeases leaseList, leasesSynced func() bool) {
	defer close(w.out)
	var leaseErr error
	w.markDirty()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-w.leaseErr:
			leaseErr = err
			continue
		case <-w.dirty:
		}
		// Let a burst of events (a drain touches many objects) settle.
		select {
		case <-ctx.Done():
			return
		case <-time.After(coalesce):
		}
		if leasesSynced() {
			leaseErr = nil
		}
		w.send(snapshotFromListers(listNodes, listLeases, leaseErr))
	}
}

// send replaces an unread snapshot with the newer one.
func (w *WatchSource) send(s Snapshot) {
	select {
	case <-w.out:
	default:
	}
	w.out <- s
}

func snapshotFromListers(listNodes nodeList, listLeases leaseList, leaseErr error) Snapshot {
	s := Snapshot{LeaseErr: leaseErr}
	ns, _ := listNodes(labels.Everything())
	for _, n := range ns {
		s.Nodes = append(s.Nodes, *n)
	}
	ls, _ := listLeases(labels.Everything())
	for _, l := range ls {
		s.Leases = append(s.Leases, *l)
	}
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].Name < s.Nodes[j].Name })
	return s
}

// ListSnapshot reads the cluster once: one paginated list of Nodes and one
// of Leases, never a request per node. A Lease list that fails is reported
// in the snapshot, not as an error.
func ListSnapshot(ctx context.Context, client kubernetes.Interface, namespace string) (Snapshot, error) {
	var s Snapshot
	err := eachPage(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Nodes().List(ctx, o)
	}, func(obj runtime.Object) error {
		s.Nodes = append(s.Nodes, *obj.(*corev1.Node))
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("listing nodes: %w", err)
	}
	s.LeaseErr = eachPage(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return client.CoordinationV1().Leases(namespace).List(ctx, o)
	}, func(obj runtime.Object) error {
		s.Leases = append(s.Leases, *obj.(*coordinationv1.Lease))
		return nil
	})
	return s, nil
}

func eachPage(ctx context.Context, list pager.ListPageFunc, fn func(runtime.Object) error) error {
	p := pager.New(list)
	p.PageSize = 500
	return p.EachListItem(ctx, metav1.ListOptions{}, fn)
}
