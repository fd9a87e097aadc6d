package fleetstatus

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// SchemeGroupVersion versions the -o documents, as the plan's.
var SchemeGroupVersion = schema.FromAPIVersionAndKind(inspect.PlanAPIVersion, "").GroupVersion()

// Kinds of the -o documents: a list of NodeStatus items, as kubectl get
// prints a list of objects.
const (
	KindStatus     = "NodeStatusList"
	KindNodeStatus = "NodeStatus"
)

// Status is the fleet as `kubectl crimig status` shows it: one item per
// node, sorted by name, and the fleet-wide facts beside them. Its JSON form
// is the stable -o output; kubectl's printers iterate its items.
type Status struct {
	metav1.TypeMeta `json:",inline"`
	Counts          []Count      `json:"counts"`
	FleetLock       *LeaseStatus `json:"fleetLock,omitempty"`
	Items           []NodeStatus `json:"items"`
	Warnings        []string     `json:"warnings,omitempty"`
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

// NodeStatus is one row: the node as plan summarises it plus its crimig
// state.
type NodeStatus struct {
	metav1.TypeMeta `json:",inline"`
	// Metadata carries the name where kubectl's printers look for it
	// (-o name, custom-columns=NAME:.metadata.name).
	Metadata ObjectMeta `json:"metadata"`
	inspect.NodeSummary
	State *migrate.State `json:"state,omitempty"`
	// StateError is set when the crimig.io/state annotation is unreadable.
	StateError string `json:"stateError,omitempty"`
	// StepsDone counts the steps completed out of StepsTotal.
	StepsDone  int          `json:"stepsDone"`
	StepsTotal int          `json:"stepsTotal"`
	Lock       *LeaseStatus `json:"lock,omitempty"`
}

// ObjectMeta is the part of an object's metadata a NodeStatus has.
type ObjectMeta struct {
	Name string `json:"name"`
}

// DeepCopyObject implements runtime.Object. Every field is part of the
// JSON form, so a JSON round trip is a deep copy.
func (s *Status) DeepCopyObject() runtime.Object {
	c := &Status{}
	jsonCopy(s, c)
	return c
}

// DeepCopyObject implements runtime.Object.
func (n *NodeStatus) DeepCopyObject() runtime.Object {
	c := &NodeStatus{}
	jsonCopy(n, c)
	return c
}

func jsonCopy(from, to any) {
	b, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(b, to)
	}
	if err != nil {
		panic("fleetstatus: a status does not survive its JSON form: " + err.Error())
	}
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

// FormatCounts renders counts as "docker 37 · cri-o 12 · migrating 2 · failed 1".
func FormatCounts(cs []Count) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + " " + strconv.Itoa(c.Count)
	}
	return strings.Join(parts, " · ")
}

// InFlight reports a migration or rollback that has not finished.
func (n *NodeStatus) InFlight() bool {
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
func (n *NodeStatus) Failed() bool {
	return n.State != nil && n.State.Phase == migrate.StateFailed
}

// Phase is the crimig phase, or "-" for a node crimig never touched.
func (n *NodeStatus) Phase() string {
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
func (n *NodeStatus) Step() string {
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
func (n *NodeStatus) Elapsed(now time.Time) time.Duration {
	if n.State == nil || n.State.Started.IsZero() {
		return 0
	}
	end := now
	if !n.ElapsedTicks() {
		end = n.State.Updated
	}
	if end.Before(n.State.Started) {
		return 0
	}
	return end.Sub(n.State.Started)
}

// ElapsedTicks reports whether Elapsed moves with the clock: a run in
// flight, or one that never recorded an update.
func (n *NodeStatus) ElapsedTicks() bool {
	return n.State != nil && !n.State.Started.IsZero() && (n.InFlight() || n.State.Updated.IsZero())
}

// LastError is the recorded error of the last run, or the reason the state
// cannot be read.
func (n *NodeStatus) LastError() string {
	if n.StateError != "" {
		return n.StateError
	}
	if n.State == nil {
		return ""
	}
	return n.State.LastError
}

// RuntimeString is "docker 20.10.24".
func (n *NodeStatus) RuntimeString() string {
	return strings.TrimSpace(n.Runtime + " " + n.RuntimeVersion)
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: SchemeGroupVersion.String(), Kind: kind}
}
