package migrate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

func TestJobOutcomeAroundTheReboot(t *testing.T) {
	exit0 := 0
	asked := nodeexec.JournalEntry{Step: "reboot", Phase: "started"}
	refused := nodeexec.JournalEntry{Step: "reboot", Phase: "failed", Message: "Failed to reboot: access denied"}
	exited := nodeexec.JournalEntry{Phase: "exited", ExitCode: &exit0}
	want := runtimeWanted{prefix: "cri-o://", newBoot: true, oldBootID: "b1"}
	crioNewBoot := corev1.NodeSystemInfo{ContainerRuntimeVersion: "cri-o://1.36.3", BootID: "b2"}
	crioOldBoot := corev1.NodeSystemInfo{ContainerRuntimeVersion: "cri-o://1.36.3", BootID: "b1"}
	dockerNewBoot := corev1.NodeSystemInfo{ContainerRuntimeVersion: "docker://20.10.24", BootID: "b2"}
	for _, c := range []struct {
		name     string
		state    nodeexec.JobState
		entries  []nodeexec.JournalEntry
		info     corev1.NodeSystemInfo
		done, ok bool
	}{
		{"succeeded, rebooted onto the target", nodeexec.JobSucceeded, []nodeexec.JournalEntry{asked, exited}, crioNewBoot, true, true},
		{"succeeded, reboot still to come", nodeexec.JobSucceeded, []nodeexec.JournalEntry{asked, exited}, crioOldBoot, false, true},
		{"succeeded, the reboot was refused", nodeexec.JobSucceeded, []nodeexec.JournalEntry{asked, exited, refused, exited}, crioOldBoot, true, true},
		{"killed by its reboot, back on the target", nodeexec.JobLost, []nodeexec.JournalEntry{asked}, crioNewBoot, true, true},
		{"killed by its reboot, not back yet", nodeexec.JobLost, []nodeexec.JournalEntry{asked}, crioOldBoot, false, true},
		{"killed by its reboot, back on docker", nodeexec.JobLost, []nodeexec.JournalEntry{asked}, dockerNewBoot, false, true},
		{"lost before asking", nodeexec.JobLost, nil, crioNewBoot, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &Engine{Sink: func(Event) {}}
			js := nodeexec.JobStatus{Job: jobSwap, State: c.state, Entries: c.entries}
			done, err := e.jobOutcome("node-1", "run-1", jobSwap, js, want, c.info)
			if done != c.done || (err == nil) != c.ok {
				t.Errorf("jobOutcome = %v, %v; want done=%v ok=%v", done, err, c.done, c.ok)
			}
		})
	}
}
