package realnode

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
)

// migrateTimeout bounds one plugin run: a drain, an install, a swap with a
// reboot and the checks after it take well under a minute on this machine.
const migrateTimeout = 10 * time.Minute

// bundle returns CRI-O's offline bundle (hack/realnode/bundle.sh).
func bundle(t *testing.T) string {
	t.Helper()
	return script(t, 5*time.Minute, "bundle.sh")
}

func assertOn(t *testing.T, cs kubernetes.Interface, prefix string) {
	t.Helper()
	waitFor(t, 2*time.Minute, NodeName+" Ready on "+prefix, func() (bool, error) {
		n := getNode(t, cs)
		return ready(n) && strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, prefix), nil
	})
}

// Scenario 1 and 2: docker → CRI-O by the offline bundle with the default
// reboot, then rollback to docker.
func TestCRIOByBundleThenRollback(t *testing.T) {
	cs := freshNode(t)
	deployWorkload(t, cs)
	before := getNode(t, cs).Status.NodeInfo.BootID

	r := run(t, migrateTimeout, "migrate", NodeName, "--yes", "--source", "bundle="+bundle(t))
	mustSucceed(t, r, "migrate to CRI-O by bundle")
	n := getNode(t, cs)
	if !ready(n) || !strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, "cri-o://") {
		t.Fatalf("after migrate: Ready=%v runtime %q, want Ready on cri-o://", ready(n), n.Status.NodeInfo.ContainerRuntimeVersion)
	}
	if n.Status.NodeInfo.BootID == before {
		t.Errorf("boot ID unchanged (%s): the default migration reboots the node", before)
	}
	if n.Spec.Unschedulable {
		t.Errorf("node still cordoned after a successful migration")
	}
	if s := stateOf(t, n); s.Phase != "Succeeded" {
		t.Errorf("state phase %q, want Succeeded", s.Phase)
	}
	waitWorkload(t, cs, 3*time.Minute)
	assertExecAndLogs(t, false)
	assertNoCrimigPods(t, cs)
	runID := stateOf(t, n).RunID

	t.Run("rollback", func(t *testing.T) {
		r := run(t, migrateTimeout, "rollback", NodeName, "--yes")
		mustSucceed(t, r, "rollback")
		assertOn(t, cs, "docker://")
		if got := assertRestored(t, runID); got == 0 {
			t.Errorf("the backup manifest of run %s lists no file", runID)
		}
		waitWorkload(t, cs, 3*time.Minute)
		assertExecAndLogs(t, true)
		assertNoCrimigPods(t, cs)
	})
}

// Scenario 3 and 6: docker → containerd from the distribution's packages,
// without a reboot, then cleanup.
func TestContainerdByPkgsThenCleanup(t *testing.T) {
	cs := freshNode(t)
	deployWorkload(t, cs)
	before := getNode(t, cs).Status.NodeInfo.BootID

	r := run(t, migrateTimeout, "migrate", NodeName, "--yes", "--to", "containerd", "--source", "pkgs", "--no-reboot")
	mustSucceed(t, r, "migrate to containerd from pkgs")
	assertOn(t, cs, "containerd://")
	if got := getNode(t, cs).Status.NodeInfo.BootID; got != before {
		t.Errorf("boot ID changed with --no-reboot (%s → %s)", before, got)
	}
	waitWorkload(t, cs, 3*time.Minute)
	assertExecAndLogs(t, false)
	assertNoCrimigPods(t, cs)

	t.Run("cleanup", func(t *testing.T) {
		r := run(t, migrateTimeout, "cleanup", NodeName, "--yes")
		mustSucceed(t, r, "cleanup")
		if out, err := onNodeErr("dpkg-query", "-W", "-f=${Status}", "docker.io"); err == nil && strings.Contains(out, "install ok installed") {
			t.Errorf("docker.io is still installed after cleanup: %s", out)
		}
		for _, gone := range []string{"/var/lib/docker", "/usr/local/bin/cri-dockerd", "/etc/systemd/system/cri-docker.service"} {
			if _, err := os.Lstat(filepath.Join(stateDir(), "root", gone)); err == nil {
				t.Errorf("%s is still on the node after cleanup", gone)
			}
		}
		assertOn(t, cs, "containerd://")
		waitWorkload(t, cs, 3*time.Minute)
		assertNoCrimigPods(t, cs)
	})
}

// Scenario 4: the plugin is killed (SIGKILL) right after the swap job
// started; the same command again finishes the migration.
func TestResumeAfterKill(t *testing.T) {
	cs := freshNode(t)
	deployWorkload(t, cs)
	args := []string{"migrate", NodeName, "--yes", "--source", "bundle=" + bundle(t), "--no-reboot"}

	ctx, cancel := context.WithTimeout(context.Background(), migrateTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, crimig(t), append(args, "-o", "json")...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "swap job started") {
			_ = cmd.Process.Kill()
			killed = true
			break
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("the swap job never started before the plugin exited")
	}
	t.Logf("plugin killed (SIGKILL) right after the swap job started")

	// The killed run's Lease is held until it expires (a minute); an operator
	// re-runs the command, which names the holder and the expiry until then.
	r := run(t, migrateTimeout, args...)
	for deadline := time.Now().Add(3 * time.Minute); strings.Contains(r.stderr, "is locked by") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Second)
		r = run(t, migrateTimeout, args...)
	}
	mustSucceed(t, r, "the same migrate command after the kill")
	assertOn(t, cs, "cri-o://")
	if s := stateOf(t, getNode(t, cs)); s.Phase != "Succeeded" {
		t.Errorf("state phase %q after the resumed run, want Succeeded", s.Phase)
	}
	waitWorkload(t, cs, 3*time.Minute)
	assertNoCrimigPods(t, cs)
}

// Scenario 5: the new runtime will not start (a site's leftover CRI-O
// drop-in names a runtime that does not exist): the host job restores the
// backups and docker, and the node is Ready on docker again.
func TestSwapFailureRestoresDocker(t *testing.T) {
	cs := freshNode(t)
	deployWorkload(t, cs)
	onNode(t, "mkdir", "-p", "/etc/crio/crio.conf.d")
	onNode(t, "sh", "-c", `printf '[crio.runtime]\ndefault_runtime = "kata-missing"\n' > /etc/crio/crio.conf.d/99-site.conf`)

	r := run(t, migrateTimeout, "migrate", NodeName, "--yes", "--source", "bundle="+bundle(t), "--no-reboot")
	if r.code == 0 {
		t.Fatalf("migrate succeeded although CRI-O cannot start\nstderr:\n%s", r.stderr)
	}
	t.Logf("migrate failed as it should:\n%s", lastLines(r.stderr, 15))
	assertOn(t, cs, "docker://")
	if s := stateOf(t, getNode(t, cs)); s.Phase != "Failed" {
		t.Errorf("state phase %q, want Failed", s.Phase)
	}
	if !quotesCause(r.stderr, "crio.service failed", "kata-missing") {
		t.Errorf("the error does not quote why crio failed (its journal names kata-missing):\n%s", r.stderr)
	}
	if out := onNodeQuiet("systemctl", "is-active", "docker"); strings.TrimSpace(out) != "active" {
		t.Errorf("docker is %q on the node after the failed swap, want active", strings.TrimSpace(out))
	}
	if !getNode(t, cs).Spec.Unschedulable {
		t.Errorf("the node was uncordoned after a failed migration; it stays cordoned until the run is resumed or rolled back")
	}

	t.Run("fixed and run again", func(t *testing.T) {
		onNode(t, "rm", "/etc/crio/crio.conf.d/99-site.conf")
		r := run(t, migrateTimeout, "migrate", NodeName, "--yes", "--source", "bundle="+bundle(t), "--no-reboot")
		mustSucceed(t, r, "migrate after fixing the cause")
		assertOn(t, cs, "cri-o://")
		if !strings.Contains(r.stderr, "trying again") {
			t.Errorf("the second run should retry the swap as a new job:\n%s", r.stderr)
		}
		waitWorkload(t, cs, 3*time.Minute)
	})
}

// quotesCause tells whether a line of out that names what failed also
// carries the cause.
func quotesCause(out, what, cause string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, what) && strings.Contains(line, cause) {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
