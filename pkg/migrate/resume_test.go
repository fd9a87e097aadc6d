package migrate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	swappingSince(t, e, true, func(n *corev1.Node) {
		n.Status.NodeInfo.ContainerRuntimeVersion = "cri-o://1.23.0"
		n.Status.NodeInfo.BootID = "b2" // rebooted while nobody watched
	})
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

// A resumed run finds the swap job it started failed. It starts a new
// attempt when the host is as it was before the swap, however the job got
// there, and refuses, saying what to do, when the host is half swapped
// (issue 15, item 6).
func TestResumeAfterAFailedSwapJob(t *testing.T) {
	started := func(step string) nodeexec.JournalEntry { return nodeexec.JournalEntry{Step: step, Phase: "started"} }
	exited := func(code int) nodeexec.JournalEntry { return nodeexec.JournalEntry{Phase: "exited", ExitCode: &code} }
	for _, tc := range []struct {
		name    string
		journal []nodeexec.JournalEntry
		retry   bool
	}{
		{"exited before any step", []nodeexec.JournalEntry{started(""), exited(2)}, true},
		{"preflight failed, nothing changed", []nodeexec.JournalEntry{started(""), started("preflight"),
			{Step: "preflight", Phase: "failed", Message: "crio.service is not installed"},
			{Step: "swap", Phase: "failed", Message: "preflight failed: crio.service is not installed; nothing was changed"}, exited(1)}, true},
		{"rolled back", []nodeexec.JournalEntry{started(""), started("preflight"), started("stop-kubelet"), started("start-runtime"),
			{Step: "start-runtime", Phase: "failed", Message: "crio did not start"}, {Step: "swap", Phase: "rolled-back"}, exited(1)}, true},
		{"the rollback did not complete", []nodeexec.JournalEntry{started(""), started("preflight"), started("stop-docker"),
			{Step: "stop-docker", Phase: "failed", Message: "mask failed"},
			{Step: "swap", Phase: "failed", Message: "stop-docker failed: mask failed; the rollback did not complete"}, exited(1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, host, _ := newTestEngine(t)
			e.Options.SwapTimeout = 5 * time.Second
			ctx := context.Background()
			swappingSince(t, e, false, func(*corev1.Node) {})
			host.jobs["node-1/"+jobSwap] = nodeexec.JobFailed
			host.journals = map[string][]nodeexec.JournalEntry{"node-1/" + jobSwap: tc.journal}
			err := e.Migrate(ctx, "node-1")
			retried := false
			for _, c := range host.calls {
				retried = retried || c == "detach swap-2 mode=swap"
			}
			if tc.retry && (err != nil || !retried) {
				t.Fatalf("want a new swap attempt that succeeds: err %v, calls %v", err, host.calls)
			}
			if !tc.retry && (err == nil || retried || !strings.Contains(err.Error(), "kubectl crimig rollback node-1")) {
				t.Fatalf("want a refusal that names the rollback: err %v, calls %v", err, host.calls)
			}
		})
	}
}

// swappingSince leaves node-1 as a run that started its swap job on boot
// b1 and was then interrupted; edit changes the Node further.
func swappingSince(t *testing.T, e *Engine, reboot bool, edit func(*corev1.Node)) {
	t.Helper()
	ctx := context.Background()
	n, err := e.Client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := State{RunID: "run-1", From: "docker", To: "cri-o", Phase: StateSwapping, Step: inspect.StepConfigure,
		CordonedByCrimig: true, SwapBootID: "b1", SwapReboot: reboot}
	b, _ := json.Marshal(st)
	n.Annotations[AnnotationState] = string(b)
	n.Spec.Unschedulable = true
	edit(n)
	if _, err := e.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
