package fleetstatus_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	fst "github.com/crimig/kubectl-crimig/pkg/fleetstatus/fleetstatustest"
)

const benchNodes = 2000

// BenchmarkSourceUpdates: ten Node updates that each change a row of a
// 2,000-node fleet, each delivered as a new status.
func BenchmarkSourceUpdates(b *testing.B) {
	s := fst.Large(benchNodes)
	f := fleetstatus.BuildFleet(s, nil)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for k := range 10 {
			n := s.Nodes[(i*10+k)%benchNodes].DeepCopy()
			n.Spec.Unschedulable = i%2 == 0
			f.SetNode(n)
			_ = f.Status()
		}
	}
}

// BenchmarkSourceHeartbeats: ten Node status updates that change nothing
// status shows.
func BenchmarkSourceHeartbeats(b *testing.B) {
	s := fst.Large(benchNodes)
	f := fleetstatus.BuildFleet(s, nil)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for k := range 10 {
			n := s.Nodes[(i*10+k)%benchNodes].DeepCopy()
			n.Status.Conditions[0].LastHeartbeatTime = metav1.Unix(int64(i), 0)
			if f.SetNode(n) {
				b.Fatal("a heartbeat changed a row")
			}
		}
	}
}
