package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// TestRollback migrates a fresh centos7 node with workloads, rolls it back,
// and checks the host and the Node: docker and Ready again, every backed-up
// file byte for byte as before the migration, every file crimig created
// removed, the cri-socket annotation restored, uncordoned, workloads back.
func TestRollback(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "centos7", "rb")
	ns := NewNamespace(t, "rb")
	PinnedWorkloads(t, ns, n.Name, false)
	before := SnapshotFiles(t, n)
	origSocket := GetNode(t, n.Name).Annotations[inspect.AnnotationCRISocket]

	events, stderr, code, elapsed := RunMigration(t, migrateArgs(n.Name)...)
	if code != 0 {
		t.Fatalf("migrate exited %d\nstderr:\n%s", code, stderr)
	}
	LogTimings(t, "centos7->cri-o before rollback", events, elapsed)
	WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
	runID := NodeState(t, n.Name).RunID
	manifest := n.ReadHostFile(t, "/var/lib/crimig/"+runID+"/backup/manifest.tsv")

	events, stderr, code, elapsed = RunMigration(t, "rollback", n.Name, "--yes")
	if code != 0 {
		t.Fatalf("rollback exited %d\nstderr:\n%s", code, stderr)
	}
	if len(events) == 0 || events[len(events)-1].Phase != migrate.PhaseDone {
		t.Errorf("rollback -o json did not end with a done event: %+v", events)
	}
	var jobStart time.Time
	for _, ev := range events {
		if strings.Contains(ev.Message, "rollback job started") {
			jobStart = ev.At
		}
	}
	if jobStart.IsZero() {
		t.Fatalf("no 'rollback job started' event: %+v", events)
	}
	t.Logf("TIMING rollback: total %s, of which drain and setup %s and the host job until docker is Ready %s", elapsed.Round(10*time.Millisecond),
		jobStart.Sub(events[0].At).Round(10*time.Millisecond), events[len(events)-1].At.Sub(jobStart).Round(10*time.Millisecond))
	node := WaitNodeOn(t, n.Name, "docker://", 10*time.Second)
	if node.Spec.Unschedulable {
		t.Error("the node is left cordoned after the rollback")
	}
	if got := node.Annotations[inspect.AnnotationCRISocket]; got != origSocket {
		t.Errorf("cri-socket annotation %q, want the original %q", got, origSocket)
	}
	if st := NodeState(t, n.Name); st.Phase != migrate.StateRolledBack || st.RunID != runID {
		t.Errorf("state %+v, want RolledBack for run %s", st, runID)
	}

	// Every file in the backup manifest is back as it was, or gone if
	// crimig created it.
	restored, removed := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(manifest), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("manifest line %q", line)
		}
		path, sum := f[0], f[1]
		now, err := os.ReadFile(n.Path(path))
		if sum == "absent" {
			if err == nil {
				t.Errorf("%s was created by crimig and is still there after the rollback", path)
			}
			removed++
			continue
		}
		if err != nil {
			t.Errorf("%s is missing after the rollback: %v", path, err)
			continue
		}
		h := sha256.Sum256(now)
		if string(now) != string(before[path]) || hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s differs from before the migration:\n--- now\n%s\n--- before\n%s", path, now, before[path])
		}
		restored++
	}
	if restored < 3 || removed < 3 {
		t.Errorf("manifest held %d restored and %d created files; expected the kubelet files and crimig's drop-ins:\n%s", restored, removed, manifest)
	}
	if !strings.Contains(manifest, "/etc/containers/certs.d/harbor.corp.example/ca.crt\tabsent\t") {
		t.Errorf("the registry certificate copied for CRI-O is not in the backup manifest as created:\n%s", manifest)
	}
	if _, ok := before["/var/lib/kubelet/kubeadm-flags.env"]; !ok || !strings.Contains(manifest, "/var/lib/kubelet/kubeadm-flags.env\t") {
		t.Errorf("kubeadm-flags.env is not in the backup manifest:\n%s", manifest)
	}

	// docker enabled, unmasked and no longer held; the new runtime installed but
	// disabled.
	for _, u := range []string{"docker.service", "docker.socket"} {
		if links, _ := filepath.Glob(n.Path("/etc/systemd/system/*.wants/" + u)); len(links) == 0 {
			t.Errorf("%s is not enabled again", u)
		}
		if target, err := os.Readlink(n.Path("/etc/systemd/system/" + u)); err == nil && target == "/dev/null" {
			t.Errorf("%s is still masked", u)
		}
		if _, err := os.Stat(n.Path("/etc/systemd/system/" + u + ".d/50-crimig-hold.conf")); err == nil {
			t.Errorf("%s is still held", u)
		}
	}
	if links, _ := filepath.Glob(n.Path("/etc/systemd/system/*.wants/crio.service")); len(links) > 0 {
		t.Errorf("crio.service is still enabled: %v", links)
	}
	DeploymentAvailableOn(t, ns, "app", n.Name, 60*time.Second)
	WaitFor(t, 30*time.Second, func() (bool, error) { return len(CrimigPodsOn(t, n.Name)) == 0, nil })
}

// TestRollbackNeverMigrated asks to roll back a node crimig never touched.
func TestRollbackNeverMigrated(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "ubuntu22", "rbnone")
	_, stderr, code := RunCrimig(t, "rollback", n.Name, "--yes")
	if code != 1 || !strings.Contains(stderr, "error: ") || !strings.Contains(stderr, "never migrated") {
		t.Errorf("rollback of a never-migrated node exited %d:\n%s", code, stderr)
	}
	node := GetNode(t, n.Name)
	if node.Spec.Unschedulable || node.Annotations[migrate.AnnotationState] != "" || len(RunIDs(n)) != 0 {
		t.Errorf("the node changed: unschedulable=%v state=%q runs=%v", node.Spec.Unschedulable, node.Annotations[migrate.AnnotationState], RunIDs(n))
	}
}

// TestRollbackRefusedLeavesTheNode: a rollback that kubectl drain's rules
// refuse (a pod without a controller, no --force) changes nothing: the node
// is schedulable and its state is as before, and the error says what to do.
func TestRollbackRefusedLeavesTheNode(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "ubuntu22", "rbref")
	if _, stderr, code, _ := RunMigration(t, migrateArgs(n.Name)...); code != 0 {
		t.Fatalf("migrate exited %d\nstderr:\n%s", code, stderr)
	}
	WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
	ns := NewNamespace(t, "rbref")
	cs := Clientset(t)
	if _, err := cs.CoreV1().Pods(ns).Create(context.Background(), pinnedPod(ns, "bare", n.Name, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, workloadsTimeout, func() (bool, error) { return namespaceReady(cs, ns, 1) })
	before := NodeState(t, n.Name)

	_, stderr, code := RunCrimig(t, "rollback", n.Name, "--yes")
	if code != 1 || !strings.Contains(stderr, "error: ") || !strings.Contains(stderr, "rollback refused") || !strings.Contains(stderr, "--force") {
		t.Errorf("rollback with a bare pod exited %d:\n%s", code, stderr)
	}
	if node := GetNode(t, n.Name); node.Spec.Unschedulable {
		t.Error("the refused rollback left the node cordoned")
	}
	if st := NodeState(t, n.Name); st.Phase != before.Phase || st.CordonedByCrimig != before.CordonedByCrimig || st.LastError != before.LastError {
		t.Errorf("the refused rollback changed the state: %+v, was %+v", st, before)
	}
}
