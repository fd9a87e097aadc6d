package fleetstatus

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/pager"
)

// Source feeds the status view. Updates delivers the status after every
// change that alters a row or the fleet run, and closes when the source
// stops. Only the newest status matters, so a slow reader skips
// intermediate ones. A Status it delivers is never changed afterwards.
type Source interface {
	Updates() <-chan *Status
}

const (
	// settle lets a burst of watch events (a drain touches many objects)
	// become one status; it keeps updates well under a second after a
	// change.
	settle = 100 * time.Millisecond
	// minInterval caps the updates at four a second, however many Nodes
	// change: a 2,000-node fleet sends several Node updates a second.
	minInterval = 250 * time.Millisecond
)

// WatchSource watches Nodes and the Leases of one namespace through
// informers: one list and one watch per kind, no polling. Each event updates
// one row of a Fleet; only a change to what status shows produces a new
// Status.
type WatchSource struct {
	client    kubernetes.Interface
	namespace string
	fleet     *Fleet
	out       chan *Status
	dirty     chan struct{}
}

// NewWatchSource returns a source for Nodes and the Leases in namespace;
// names, when not empty, keeps only those nodes. Nothing happens until
// Start.
func NewWatchSource(client kubernetes.Interface, namespace string, names []string) *WatchSource {
	return &WatchSource{
		client: client, namespace: namespace, fleet: NewFleet(names),
		out: make(chan *Status, 1), dirty: make(chan struct{}, 1),
	}
}

// Updates implements Source.
func (w *WatchSource) Updates() <-chan *Status { return w.out }

// Start runs the informers until ctx is done, waits for the Node cache, and
// sends the first status. The Lease informer does not hold up the start:
// a user who may not read Leases still sees the nodes, with a warning.
func (w *WatchSource) Start(ctx context.Context) error {
	nodeFactory := informers.NewSharedInformerFactory(w.client, 0)
	leaseFactory := informers.NewSharedInformerFactoryWithOptions(w.client, 0, informers.WithNamespace(w.namespace))
	nodes := nodeFactory.Core().V1().Nodes().Informer()
	leases := leaseFactory.Coordination().V1().Leases().Informer()
	if err := nodes.SetTransform(SlimNode); err != nil {
		return err
	}
	if _, err := nodes.AddEventHandler(handler(w, w.fleet.SetNode, w.fleet.DeleteNode)); err != nil {
		return err
	}
	if _, err := leases.AddEventHandler(handler(w, w.fleet.SetLease, w.fleet.DeleteLease)); err != nil {
		return err
	}
	if err := leases.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		w.markDirty(w.fleet.SetLeaseErr(err))
	}); err != nil {
		return err
	}
	nodeFactory.Start(ctx.Done())
	leaseFactory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), nodes.HasSynced) {
		return fmt.Errorf("waiting for the node watch: %w", context.Cause(ctx))
	}
	go w.loop(ctx, leases.HasSynced)
	return nil
}

// handler applies an informer's events for one kind to the fleet, marking
// the view dirty when set or del reports a change.
func handler[T any](w *WatchSource, set func(T) bool, del func(name string) bool) cache.ResourceEventHandler {
	apply := func(obj any) {
		if o, ok := obj.(T); ok {
			w.markDirty(set(o))
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    apply,
		UpdateFunc: func(_, obj any) { apply(obj) },
		DeleteFunc: func(obj any) { w.markDirty(del(objectName(obj))) },
	}
}

func objectName(obj any) string {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if o, ok := obj.(metav1.Object); ok {
		return o.GetName()
	}
	return ""
}

func (w *WatchSource) markDirty(changed bool) {
	if !changed {
		return
	}
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

func (w *WatchSource) loop(ctx context.Context, leasesSynced func() bool) {
	defer close(w.out)
	w.markDirty(true)
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.dirty:
		}
		wait := max(settle, minInterval-time.Since(last))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if leasesSynced() {
			w.fleet.SetLeaseErr(nil)
		}
		last = time.Now()
		w.send(w.fleet.Status())
	}
}

// send replaces an unread status with the newer one.
func (w *WatchSource) send(s *Status) {
	select {
	case <-w.out:
	default:
	}
	w.out <- s
}

// SlimNode keeps of a Node only what a row is computed from: its name,
// labels and annotations, whether it is cordoned, its Ready condition and
// its node info. Images, managedFields, addresses and capacity, the bulk of
// a Node, go, so that the informer's cache of a large fleet stays small. It
// is the Node informer's transform.
func SlimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion, Labels: n.Labels, Annotations: n.Annotations},
		Spec:       corev1.NodeSpec{Unschedulable: n.Spec.Unschedulable},
		Status:     corev1.NodeStatus{NodeInfo: n.Status.NodeInfo},
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			slim.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	return slim, nil
}

// List reads the cluster once: one paginated list of Nodes and one of
// Leases, never a request per node. Each page is reduced to rows before the
// next one arrives. A Lease list that fails is reported in the status, not
// as an error. names, when not empty, keeps only those nodes.
func List(ctx context.Context, client kubernetes.Interface, namespace string, names []string) (*Status, error) {
	f := NewFleet(names)
	err := eachPage(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Nodes().List(ctx, o)
	}, func(obj runtime.Object) error {
		f.SetNode(obj.(*corev1.Node))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	f.SetLeaseErr(eachPage(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return client.CoordinationV1().Leases(namespace).List(ctx, o)
	}, func(obj runtime.Object) error {
		f.SetLease(obj.(*coordinationv1.Lease))
		return nil
	}))
	return f.Status(), nil
}

func eachPage(ctx context.Context, list pager.ListPageFunc, fn func(runtime.Object) error) error {
	p := pager.New(list)
	p.PageSize = 500
	return p.EachListItem(ctx, metav1.ListOptions{}, fn)
}
