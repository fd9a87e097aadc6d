package fleetstatus

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// Snapshot is the cluster at one moment: Nodes and the Leases of the pod
// namespace.
type Snapshot struct {
	Nodes  []corev1.Node
	Leases []coordinationv1.Lease
	// LeaseErr is set when the Leases cannot be read (RBAC, missing
	// namespace); the nodes are still shown.
	LeaseErr error
}

// BuildStatus turns a snapshot into a Status. names, when not empty, keeps
// only those nodes.
func BuildStatus(s Snapshot, names []string) *Status {
	return BuildFleet(s, names).Status()
}

// BuildFleet is a Fleet that starts from a snapshot.
func BuildFleet(s Snapshot, names []string) *Fleet {
	f := NewFleet(names)
	for i := range s.Nodes {
		f.SetNode(&s.Nodes[i])
	}
	for i := range s.Leases {
		f.SetLease(&s.Leases[i])
	}
	f.SetLeaseErr(s.LeaseErr)
	return f
}

// StepNames are the migrate steps in order, as inspect lists them.
func StepNames() []string {
	steps := inspect.Steps(inspect.NodePlan{}, inspect.Options{})
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.Name
	}
	return names
}

// Fleet is the status kept up to date one object at a time: the watch hands
// it each Node and Lease as it changes, and each call says whether a row or
// the fleet run changed, so that a heartbeat that changes nothing shown
// costs one row comparison. It is safe for concurrent use.
type Fleet struct {
	mu    sync.Mutex
	keep  map[string]bool
	steps []string
	nodes map[string]*nodeEntry
	// names are the node names, sorted.
	names  []string
	leases map[string]*LeaseStatus
	// fleetErr is why the fleet Lease's progress cannot be read.
	fleetErr string
	leaseErr error
}

// nodeEntry is a row and the annotation it was read from, so that an
// unchanged annotation is not parsed again.
type nodeEntry struct {
	row      NodeStatus
	stateRaw string
}

// NewFleet returns an empty fleet; names, when not empty, keeps only those
// nodes.
func NewFleet(names []string) *Fleet {
	f := &Fleet{steps: StepNames(), nodes: map[string]*nodeEntry{}, leases: map[string]*LeaseStatus{}}
	if len(names) > 0 {
		f.keep = map[string]bool{}
		for _, n := range names {
			f.keep[n] = true
		}
	}
	return f
}

// SetNode adds or updates the row of n; it reports whether the row changed.
func (f *Fleet) SetNode(n *corev1.Node) bool {
	if f.keep != nil && !f.keep[n.Name] {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.nodes[n.Name]
	e := &nodeEntry{stateRaw: n.Annotations[migrate.AnnotationState]}
	if old != nil && old.stateRaw == e.stateRaw {
		e.row = f.nodeRow(n, old.row.State, old.row.StateError)
	} else {
		state, err := migrate.ReadState(n)
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		e.row = f.nodeRow(n, state, errText)
	}
	if old != nil && old.row == e.row {
		return false
	}
	if old == nil {
		i, _ := slices.BinarySearch(f.names, n.Name)
		f.names = slices.Insert(f.names, i, n.Name)
	}
	f.nodes[n.Name] = e
	return true
}

// DeleteNode removes a node's row; it reports whether there was one.
func (f *Fleet) DeleteNode(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.nodes[name]; !ok {
		return false
	}
	delete(f.nodes, name)
	if i, found := slices.BinarySearch(f.names, name); found {
		f.names = slices.Delete(f.names, i, i+1)
	}
	return true
}

// SetLease adds or updates a crimig Lease: a node's lock or the fleet run.
// It reports whether a row or the fleet run changed.
func (f *Fleet) SetLease(l *coordinationv1.Lease) bool {
	ls := leaseStatus(l)
	fleetErr := ""
	if l.Name == migrate.FleetLeaseName {
		p, err := migrate.ReadFleetProgress(l)
		if ls.Fleet = p; err != nil {
			fleetErr = err.Error()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.leases[l.Name]
	f.leases[l.Name] = ls
	changed := !reflect.DeepEqual(old, ls)
	if l.Name == migrate.FleetLeaseName {
		changed = changed || f.fleetErr != fleetErr
		f.fleetErr = fleetErr
		return changed
	}
	return f.relock(l.Name) && changed
}

// DeleteLease forgets a Lease; it reports whether a row or the fleet run
// changed.
func (f *Fleet) DeleteLease(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.leases[name]; !ok {
		return false
	}
	delete(f.leases, name)
	if name == migrate.FleetLeaseName {
		f.fleetErr = ""
		return true
	}
	return f.relock(name)
}

// relock gives the node a Lease locks its current lock; it reports whether
// there is such a node.
func (f *Fleet) relock(lease string) bool {
	node, ok := strings.CutPrefix(lease, migrate.LeaseName(""))
	e := f.nodes[node]
	if !ok || e == nil {
		return false
	}
	e.row.Lock = f.leases[lease]
	return true
}

// SetLeaseErr records why the Leases cannot be read; nil clears it. It
// reports whether that changed.
func (f *Fleet) SetLeaseErr(err error) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	changed := (err == nil) != (f.leaseErr == nil) || (err != nil && err.Error() != f.leaseErr.Error())
	f.leaseErr = err
	return changed
}

// Status is the fleet now, its rows sorted by name.
func (f *Fleet) Status() *Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &Status{TypeMeta: typeMeta(KindStatus), FleetLock: f.leases[migrate.FleetLeaseName], Items: make([]NodeStatus, len(f.names))}
	for i, name := range f.names {
		st.Items[i] = f.nodes[name].row
	}
	st.Counts = counts(st.Items)
	if f.fleetErr != "" && st.FleetLock != nil {
		st.Warnings = append(st.Warnings, f.fleetErr)
	}
	if f.leaseErr != nil {
		st.Warnings = append(st.Warnings, "cannot read the crimig Leases: "+f.leaseErr.Error())
	}
	return st
}

func (f *Fleet) nodeRow(n *corev1.Node, state *migrate.State, stateErr string) NodeStatus {
	ns := NodeStatus{TypeMeta: typeMeta(KindNodeStatus), Metadata: ObjectMeta{Name: n.Name}, NodeSummary: inspect.SummarizeNode(n),
		StepsTotal: len(f.steps), Lock: f.leases[migrate.LeaseName(n.Name)], State: state, StateError: stateErr}
	switch {
	case state == nil:
	case state.Phase == migrate.StateSucceeded:
		ns.StepsDone = len(f.steps)
	default:
		for i, name := range f.steps {
			if name == state.Step {
				ns.StepsDone = i + 1
			}
		}
	}
	return ns
}

func leaseStatus(l *coordinationv1.Lease) *LeaseStatus {
	ls := &LeaseStatus{Name: l.Name}
	if l.Spec.HolderIdentity != nil {
		ls.Holder = *l.Spec.HolderIdentity
	}
	if l.Spec.RenewTime != nil {
		renewed := l.Spec.RenewTime.Time
		ls.Renewed = &renewed
		if l.Spec.LeaseDurationSeconds != nil {
			exp := renewed.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
			ls.Expires = &exp
		}
	}
	return ls
}

// counts lists runtimes by node count (largest first), then migrating,
// failed and, when there are any, stopped.
func counts(nodes []NodeStatus) []Count {
	byRuntime := map[string]int{}
	migrating, failed, stopped := 0, 0, 0
	for i := range nodes {
		n := &nodes[i]
		rt := n.Runtime
		if rt == "" {
			rt = "unknown"
		}
		byRuntime[rt]++
		switch {
		case n.InFlight():
			migrating++
		case n.Failed():
			failed++
		case n.State != nil && n.State.Phase == migrate.StateStopped:
			stopped++
		}
	}
	out := make([]Count, 0, len(byRuntime)+2)
	for rt, c := range byRuntime {
		out = append(out, Count{Name: rt, Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	out = append(out, Count{Name: "migrating", Count: migrating}, Count{Name: "failed", Count: failed})
	if stopped > 0 { // stopped as asked, to be resumed
		out = append(out, Count{Name: "stopped", Count: stopped})
	}
	return out
}
