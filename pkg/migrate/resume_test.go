package migrate

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// A run killed while its swap job rebooted the node resumes after the
// reboot: it must compare the boot id with the one before the swap, which
// the state recorded, not with the node's current one.
func TestResumeAfterTheSwapRebooted(t *testing.T) {
	e, host, events := newTestEngine(t)
	defer func() {
		if t.Failed() {
			for _, ev := range *events {
				t.Logf("%+v", ev)
			}
		}
	}()
	e.Options.Reboot = true
	e.Options.SwapTimeout = 5 * time.Second
	ctx := context.Background()
	n, err := e.Client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := State{RunID: "run-1", From: "docker", To: "cri-o", Phase: StateSwapping, Step: inspect.StepConfigure,
		CordonedByCrimig: true, SwapBootID: "b1", SwapReboot: true}
	b, _ := json.Marshal(st)
	n.Annotations[AnnotationState] = string(b)
	n.Spec.Unschedulable = true
	n.Status.NodeInfo.ContainerRuntimeVersion = "cri-o://1.23.0"
	n.Status.NodeInfo.BootID = "b2" // rebooted while nobody watched
	if _, err := e.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The fake host keys jobs by name, or by node and name.
	host.jobs[jobSwap] = nodeexec.JobSucceeded
	host.jobs["node-1/"+jobSwap] = nodeexec.JobSucceeded
	if err := e.Migrate(ctx, "node-1"); err != nil {
		t.Fatalf("resume after the reboot: %v", err)
	}
	if _, st := nodeState(t, e); st.Phase != StateSucceeded || st.RunID != "run-1" {
		t.Errorf("state %+v", st)
	}
	for _, c := range host.calls {
		if c == "detach swap mode=swap" {
			t.Error("the swap job was started again")
		}
	}
}
