package tui

import (
	"sort"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// FleetLeaseName is the Lease a fleet-wide run (--all) holds in the pod
// namespace.
const FleetLeaseName = "crimig-fleet"

// Snapshot is what the status view knows about the cluster at one moment:
// every Node and every Lease of the pod namespace.
type Snapshot struct {
	Nodes  []corev1.Node
	Leases []coordinationv1.Lease
	// LeaseErr is set when the Leases cannot be read (RBAC, missing
	// namespace); the nodes are still shown.
	LeaseErr error
}

// Status is the fleet as `kubectl crimig status` shows it. Its JSON form is
// the stable -o json|yaml output.
type Status struct {
	Counts    []Count      `json:"counts"`
	FleetLock *LeaseStatus `json:"fleetLock,omitempty"`
	Nodes     []NodeStatus `json:"nodes"`
	Warnings  []string     `json:"warnings,omitempty"`
}

// Count is one entry of the header: nodes per runtime, then in-flight and
// failed migrations.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// LeaseStatus is a crimig Lease: who holds it and until when.
type LeaseStatus struct {
	Name    string     `json:"name"`
	Holder  string     `json:"holder"`
	Renewed *time.Time `json:"renewed,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
	// Fleet is where a fleet run stands: only on the fleet Lease, and only
	// when its holder recorded it.
	Fleet *migrate.FleetProgress `json:"fleet,omitempty"`
}

// Expired reports a Lease its holder no longer renews: that run died.
func (l *LeaseStatus) Expired(now time.Time) bool {
	return l.Expires != nil && now.After(*l.Expires)
}

// FormatFleetRun is the fleet run in one line: "fleet run: alice@host ·
// wave 2/4 · in flight: node-3, node-4 · 3 done, 1 failed (node-5)".
func FormatFleetRun(l *LeaseStatus, now time.Time) string {
	s := "fleet run: " + l.Holder
	if l.Fleet != nil {
		s += " · " + l.Fleet.Summary()
	}
	if l.Expired(now) {
		s += " · lock expired: that run died; the same command resumes it"
	}
	return s
}

// NodeStatus is one row: the node as plan summarises it plus its crimig state.
type NodeStatus struct {
	inspect.NodeSummary
	State *migrate.State `json:"state,omitempty"`
	// StateError is set when the crimig.io/state annotation is unreadable.
	StateError string `json:"stateError,omitempty"`
	// StepsDone counts the steps completed out of StepsTotal.
	StepsDone  int          `json:"stepsDone"`
	StepsTotal int          `json:"stepsTotal"`
	Lock       *LeaseStatus `json:"lock,omitempty"`
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

// BuildStatus turns a snapshot into rows sorted by name. names, when not
// empty, keeps only those nodes.
func BuildStatus(s Snapshot, names []string) Status {
	steps := StepNames()
	leases := map[string]*LeaseStatus{}
	for i := range s.Leases {
		leases[s.Leases[i].Name] = leaseStatus(&s.Leases[i])
	}
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
	}
	st := Status{FleetLock: leases[FleetLeaseName], Nodes: []NodeStatus{}}
	for i := range s.Leases {
		if l := &s.Leases[i]; l.Name == FleetLeaseName {
			p, err := migrate.ReadFleetProgress(l)
			if err != nil {
				st.Warnings = append(st.Warnings, err.Error())
			}
			st.FleetLock.Fleet = p
		}
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if len(keep) > 0 && !keep[n.Name] {
			continue
		}
		st.Nodes = append(st.Nodes, nodeStatus(n, steps, leases[migrate.LeaseName(n.Name)]))
	}
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].Name < st.Nodes[j].Name })
	st.Counts = counts(st.Nodes)
	if s.LeaseErr != nil {
		st.Warnings = append(st.Warnings, "cannot read the crimig Leases: "+s.LeaseErr.Error())
	}
	return st
}

func nodeStatus(n *corev1.Node, steps []string, lock *LeaseStatus) NodeStatus {
	ns := NodeStatus{NodeSummary: inspect.SummarizeNode(n), StepsTotal: len(steps), Lock: lock}
	state, err := migrate.ReadState(n)
	if err != nil {
		ns.StateError = err.Error()
		return ns
	}
	ns.State = state
	if state == nil {
		return ns
	}
	if state.Phase == migrate.StateSucceeded {
		ns.StepsDone = len(steps)
		return ns
	}
	for i, name := range steps {
		if name == state.Step {
			ns.StepsDone = i + 1
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
	for _, n := range nodes {
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

// FormatCounts renders counts as "docker 37 · cri-o 12 · migrating 2 · failed 1".
func FormatCounts(cs []Count) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + " " + itoa(c.Count)
	}
	return strings.Join(parts, " · ")
}

// InFlight reports a migration or rollback that has not finished.
func (n NodeStatus) InFlight() bool {
	if n.State == nil {
		return false
	}
	switch n.State.Phase {
	case migrate.StateRunning, migrate.StateSwapping, migrate.StateRollingBack:
		return true
	}
	return false
}

// Failed reports a migration that stopped on an error.
func (n NodeStatus) Failed() bool {
	return n.State != nil && n.State.Phase == migrate.StateFailed
}

// Phase is the crimig phase, or "-" for a node crimig never touched.
func (n NodeStatus) Phase() string {
	switch {
	case n.StateError != "":
		return "Invalid"
	case n.State == nil:
		return "-"
	}
	return n.State.Phase
}

// Step is the step that failed on a failed run, else the last completed
// step, or "-".
func (n NodeStatus) Step() string {
	switch {
	case n.State == nil:
		return "-"
	case n.State.Phase == migrate.StateFailed && n.State.FailedStep != "":
		return n.State.FailedStep
	case n.State.Step == "":
		return "-"
	}
	return n.State.Step
}

// Elapsed is the time since the run started; for a finished run, the time
// it took.
func (n NodeStatus) Elapsed(now time.Time) time.Duration {
	if n.State == nil || n.State.Started.IsZero() {
		return 0
	}
	end := now
	if !n.InFlight() && !n.State.Updated.IsZero() {
		end = n.State.Updated
	}
	if end.Before(n.State.Started) {
		return 0
	}
	return end.Sub(n.State.Started)
}

// LastError is the recorded error of the last run, or the reason the state
// cannot be read.
func (n NodeStatus) LastError() string {
	if n.StateError != "" {
		return n.StateError
	}
	if n.State == nil {
		return ""
	}
	return n.State.LastError
}

// RuntimeString is "docker 20.10.24".
func (n NodeStatus) RuntimeString() string {
	return strings.TrimSpace(n.Runtime + " " + n.RuntimeVersion)
}
