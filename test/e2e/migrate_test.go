package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// migrateTimeout bounds one migration run; on the sandbox it takes ~20 s.
const migrateTimeout = 3 * time.Minute

// acceptShared are the findings a migration in these tests accepts:
// CRIMIG010 for the docker.sock pod the test pins to its node, and
// CRIMIG013 for a CronJob with DOCKER_HOST that other tests' workload
// fixtures may hold (a template without pods concerns every node).
var acceptShared = []string{"--accept", "CRIMIG010", "--accept", "CRIMIG013"}

func migrateArgs(node string, extra ...string) []string {
	args := append([]string{"migrate", node, "--yes", "--force", "--delete-emptydir-data"}, acceptShared...)
	return append(args, extra...)
}

// wantSocket is the kubeadm cri-socket annotation after a move to target.
func wantSocket(fixture, target string) string {
	sock := "/var/run/crio/crio.sock"
	if target == "containerd" {
		sock = "/run/containerd/containerd.sock"
	}
	if fixture == "centos7" {
		return sock
	}
	return "unix://" + sock
}

// TestMigrate migrates a fresh node of each fixture to CRI-O (and one to
// containerd) with workloads pinned to it, and checks the issue's "done
// when": new runtime and Ready, uncordoned, workloads back, the host files
// exactly those of the plan taken before, docker disabled with its sockets
// masked, no crimig pod left, one run id in the annotation and the journal.
func TestMigrate(t *testing.T) {
	t.Parallel()
	cases := []struct{ fixture, target string }{
		{"centos7", "cri-o"},
		{"rocky9", "cri-o"},
		{"ubuntu22", "cri-o"},
		{"rocky9", "containerd"},
	}
	for _, c := range cases {
		t.Run(c.fixture+"-"+c.target, func(t *testing.T) {
			t.Parallel()
			n := AddSimNode(t, c.fixture, "mig")
			ns := NewNamespace(t, "mig")
			PinnedWorkloads(t, ns, n.Name, true)
			plan, _, _, _ := PlanJSON(t, n.Name, "--to", c.target)
			np := NodePlanOf(t, plan, n.Name)
			if len(np.Files) == 0 {
				t.Fatalf("the plan has no files for %s", n.Name)
			}

			events, stderr, code, elapsed := RunMigration(t, migrateArgs(n.Name, "--to", c.target)...)
			if code != 0 {
				t.Fatalf("migrate exited %d\nstderr:\n%s", code, stderr)
			}
			LogTimings(t, c.fixture+"->"+c.target, events, elapsed)
			prefix := map[string]string{"cri-o": "cri-o://", "containerd": "containerd://"}[c.target]
			node := WaitNodeOn(t, n.Name, prefix, 10*time.Second)
			if node.Spec.Unschedulable {
				t.Error("the node is left cordoned")
			}
			if got := node.Annotations[inspect.AnnotationCRISocket]; got != wantSocket(c.fixture, c.target) {
				t.Errorf("cri-socket annotation %q, want %q", got, wantSocket(c.fixture, c.target))
			}
			st := NodeState(t, n.Name)
			if st == nil || st.Phase != migrate.StateSucceeded || st.To != c.target || !st.CordonedByCrimig || st.From != "docker" {
				t.Errorf("state annotation %+v", st)
			}
			if last := events[len(events)-1]; last.Phase != migrate.PhaseDone || last.Step != "" {
				t.Errorf("last event %+v, want the final done", last)
			}
			// The smoke pod ran on the new runtime: logs, exec, and its log
			// file in CRI format where the kubelet keeps it.
			if st == nil || st.Verification == nil {
				t.Errorf("no verification in the state %+v", st)
			} else if v := st.Verification; !v.Logs || !v.Exec || v.LogFormat != "cri" || v.Image == "" {
				t.Errorf("verification %+v", v)
			} else if b, err := os.ReadFile(n.Path(v.LogFile)); err != nil || !strings.Contains(string(b), " stdout F crimig-smoke "+st.RunID) {
				t.Errorf("smoke pod log %s: %q, %v", v.LogFile, b, err)
			}

			// The host files are the plan's, byte for byte, with its modes.
			for _, f := range np.Files {
				b, err := os.ReadFile(n.Path(f.Path))
				if err != nil {
					t.Errorf("planned file %s: %v", f.Path, err)
					continue
				}
				if string(b) != f.Content {
					t.Errorf("%s on the host differs from the plan:\n--- host\n%s\n--- plan\n%s", f.Path, b, f.Content)
				}
				if fi, _ := os.Stat(n.Path(f.Path)); fi != nil && f.Changed {
					if got := fi.Mode().Perm(); got.String() != modeString(f.Mode) {
						t.Errorf("%s has mode %s, plan says %s", f.Path, got, f.Mode)
					}
				}
			}

			// docker stays installed but disabled, and held so that nothing
			// starts it again; the new runtime is enabled, so it survives a
			// reboot.
			dockerUnits := []string{"docker.service", "docker.socket"}
			if c.fixture != "centos7" {
				dockerUnits = append(dockerUnits, "cri-docker.service", "cri-docker.socket")
			}
			for _, u := range dockerUnits {
				if links, _ := filepath.Glob(n.Path("/etc/systemd/system/*.wants/" + u)); len(links) > 0 {
					t.Errorf("%s is still enabled: %v", u, links)
				}
				if st, _ := os.ReadFile(n.Path("/var/lib/sim/run/units/" + u)); strings.TrimSpace(string(st)) == "active" {
					t.Errorf("%s is still active", u)
				}
			}
			for _, u := range dockerUnits {
				if _, err := os.Stat(n.Path("/etc/systemd/system/" + u + ".d/50-crimig-hold.conf")); err != nil {
					t.Errorf("%s is not held: %v", u, err)
				}
			}
			unit := map[string]string{"cri-o": "crio.service", "containerd": "containerd.service"}[c.target]
			if links, _ := filepath.Glob(n.Path("/etc/systemd/system/*.wants/" + unit)); len(links) == 0 {
				t.Errorf("%s is not enabled", unit)
			}
			// docker's registry certificates are where the new runtime reads them.
			certs := map[string]string{"cri-o": "/etc/containers/certs.d", "containerd": "/etc/containerd/certs.d"}[c.target]
			if want, got := n.ReadHostFile(t, "/etc/docker/certs.d/harbor.corp.example/ca.crt"), n.ReadHostFile(t, certs+"/harbor.corp.example/ca.crt"); got != want {
				t.Errorf("%s/harbor.corp.example/ca.crt differs from docker's", certs)
			}
			if _, err := os.Stat(n.Path("/var/lib/docker")); err != nil {
				t.Errorf("/var/lib/docker must be kept for rollback: %v", err)
			}

			// One run id: in the annotation, on the host and in the journal.
			runs := RunIDs(n)
			if len(runs) != 1 || st == nil || runs[0] != st.RunID {
				t.Errorf("run directories %v on the host, annotation run %v", runs, st)
			} else {
				journal := JournalEntries(t, n, st.RunID)
				if end := journal[len(journal)-1]; end.Phase != "exited" || end.ExitCode == nil || *end.ExitCode != 0 {
					t.Errorf("the swap job did not end well: %+v", end)
				}
			}

			// Workloads came back: the Deployment is available again, on the
			// node and its new runtime.
			DeploymentAvailableOn(t, ns, "app", n.Name, 60*time.Second)
			WaitFor(t, 30*time.Second, func() (bool, error) {
				return len(CrimigPodsOn(t, n.Name)) == 0, nil
			})
		})
	}
}

// modeString turns "0644" into "-rw-r--r--".
func modeString(mode string) string {
	var m uint32
	for _, c := range strings.TrimPrefix(mode, "0") {
		m = m*8 + uint32(c-'0')
	}
	return os.FileMode(m).String()
}

// TestMigrateKillAndResume kills the plugin with SIGKILL at a step
// boundary: once the annotation says the drain is done, and right after the
// detached swap job started (the job goes on without it). Each time a second
// run meanwhile is refused by the dead run's lock; once the Lease expired,
// the migration resumes and completes under the first run id.
func TestMigrateKillAndResume(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		fixture   string
		killWhen  func(t *testing.T, p *CrimigProc, node string) bool
		wantPhase string
		wantStep  string
	}{
		{"after-drain", "rocky9", func(t *testing.T, _ *CrimigProc, node string) bool {
			st := NodeState(t, node)
			return st != nil && st.Step == inspect.StepDrain
		}, migrate.StateRunning, inspect.StepDrain},
		{"during-swap", "centos7", func(t *testing.T, p *CrimigProc, _ string) bool {
			for _, ev := range p.Events(t) {
				if ev.Step == inspect.StepSwap && strings.Contains(ev.Message, "swap job started") {
					return true
				}
			}
			return false
		}, migrate.StateSwapping, inspect.StepConfigure},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			killAndResume(t, c.fixture, func(p *CrimigProc, node string) bool { return c.killWhen(t, p, node) }, c.wantPhase, c.wantStep)
		})
	}
}

func killAndResume(t *testing.T, fixture string, killWhen func(p *CrimigProc, node string) bool, wantPhase, wantStep string) {
	n := AddSimNode(t, fixture, "kill")
	ns := NewNamespace(t, "kill")
	PinnedWorkloads(t, ns, n.Name, false)

	p := StartCrimig(t, append(migrateArgs(n.Name), "-o", "json")...)
	deadline := time.Now().Add(migrateTimeout)
	for !killWhen(p, n.Name) {
		if time.Now().After(deadline) {
			t.Fatal("the kill point never came")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Kill()
	st := NodeState(t, n.Name)
	if st == nil || st.Phase != wantPhase || st.Step != wantStep {
		t.Fatalf("state after the kill: %+v, want %s after %s", st, wantPhase, wantStep)
	}
	runID := st.RunID

	// The dead run still holds the Lease: a second run is refused, names
	// the holder, and changes nothing.
	_, stderr, code := RunCrimig(t, migrateArgs(n.Name)...)
	if code == 0 || !strings.Contains(stderr, "is locked by") {
		t.Errorf("a run while the dead run's lock is valid exited %d:\n%s", code, stderr)
	}
	lease, err := Clientset(t).CoordinationV1().Leases(crimigNamespace).Get(context.Background(), migrate.LeaseName(n.Name), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the killed run's Lease: %v", err)
	}
	expires := lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second)
	t.Logf("waiting %s for the Lease of the killed run to expire", time.Until(expires).Round(time.Second))
	time.Sleep(time.Until(expires) + time.Second)

	events, stderr, code, elapsed := RunMigration(t, migrateArgs(n.Name)...)
	if code != 0 {
		t.Fatalf("the resumed migrate exited %d\nstderr:\n%s", code, stderr)
	}
	t.Logf("resumed run took %s", elapsed.Round(10*time.Millisecond))
	resumed := false
	for _, ev := range events {
		if strings.Contains(ev.Message, "resuming run "+runID) {
			resumed = true
		}
		if (ev.Step == inspect.StepDrain || ev.Step == wantStep) && ev.Phase == migrate.PhaseStarted {
			t.Errorf("the resumed run did a finished step again: %+v", ev)
		}
	}
	if !resumed {
		t.Errorf("no 'resuming run %s' event", runID)
	}
	WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
	if st := NodeState(t, n.Name); st.RunID != runID || st.Phase != migrate.StateSucceeded {
		t.Errorf("state after the resume: %+v, want run %s Succeeded", st, runID)
	}
	if runs := RunIDs(n); len(runs) != 1 || runs[0] != runID {
		t.Errorf("run directories on the host: %v, want only %s", runs, runID)
	}
	jobs := map[string]int{}
	for _, e := range JournalEntries(t, n, runID) {
		if e.Phase == "started" && e.Step == "" {
			jobs[e.Job]++
		}
	}
	if jobs["swap"] != 1 || len(jobs) != 1 {
		t.Errorf("journal jobs %v, want one swap job", jobs)
	}
	if GetNode(t, n.Name).Spec.Unschedulable {
		t.Error("the node is left cordoned")
	}
	DeploymentAvailableOn(t, ns, "app", n.Name, 60*time.Second)
}

// TestMigrateInjectedFailure plants a CRI-O drop-in that does not parse, so
// crio fails to start during the swap: the job restores the host, the
// command fails with the journal's reason, and the node is back on docker.
func TestMigrateInjectedFailure(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "rocky9", "fail")
	n.WriteHostFile(t, "/etc/crio/crio.conf.d/10-local.conf", "[crio.runtime\ncgroup_manager = systemd\n")
	before := SnapshotFiles(t, n)

	events, stderr, code, elapsed := RunMigration(t, migrateArgs(n.Name, "--no-reboot")...)
	LogTimings(t, "rocky9 failed swap", events, elapsed)
	if code == 0 {
		t.Fatalf("migrate succeeded although crio cannot start")
	}
	for _, want := range []string{"start-runtime", "crio", nodeexec.JournalPath(NodeState(t, n.Name).RunID), "runs docker again"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	WaitNodeOn(t, n.Name, "docker://", 30*time.Second)
	st := NodeState(t, n.Name)
	if st.Phase != migrate.StateFailed || !strings.Contains(st.LastError, "start-runtime") {
		t.Errorf("state %+v, want Failed at start-runtime", st)
	}
	// The files the swap installed are restored; the runtime packages stay.
	after := SnapshotFiles(t, n)
	for _, p := range []string{"/var/lib/kubelet/kubeadm-flags.env", "/var/lib/kubelet/config.yaml", "/etc/docker/daemon.json", "/etc/sysconfig/kubelet"} {
		if string(after[p]) != string(before[p]) {
			t.Errorf("%s was not restored:\n%s", p, after[p])
		}
	}
	for _, p := range []string{"/etc/crio/crio.conf.d/90-crimig.conf", "/etc/containers/registries.conf.d/90-crimig.conf"} {
		if _, ok := after[p]; ok {
			t.Errorf("%s is left on the host after the restore", p)
		}
	}
	if links, _ := filepath.Glob(n.Path("/etc/systemd/system/*.wants/docker.service")); len(links) == 0 {
		t.Error("docker.service is not enabled again")
	}
}

// TestMigrateWarnsWhenPodmanFails migrates a node whose mirror has CRI-O
// but no podman: the migration finishes, and the failed podman shows as a
// warning line and in the node's state.
func TestMigrateWarnsWhenPodmanFails(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "rocky9", "podman")
	var meta map[string]any
	if err := json.Unmarshal([]byte(n.ReadHostFile(t, "/var/lib/sim/host.json")), &meta); err != nil {
		t.Fatal(err)
	}
	meta["podmanVersion"] = "" // the repositories ship no podman
	raw, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	n.WriteHostFile(t, "/var/lib/sim/host.json", string(raw))

	_, stderr, code := RunCrimig(t, migrateArgs(n.Name, "--no-reboot")...)
	if code != 0 {
		t.Fatalf("migrate exited %d:\n%s", code, stderr)
	}
	WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
	if !regexp.MustCompile(`(?m)^\S+ +` + regexp.QuoteMeta(n.Name) + ` +install +warning +podman could not be installed`).MatchString(stderr) {
		t.Errorf("no warning line for the failed podman:\n%s", stderr)
	}
	st := NodeState(t, n.Name)
	if st.Phase != migrate.StateSucceeded || len(st.Warnings) != 1 || !strings.HasPrefix(st.Warnings[0], "install: podman could not be installed") {
		t.Errorf("state %+v, want Succeeded with the podman warning", st)
	}
}

// TestMigrateLock starts two migrations of one node at once: exactly one
// proceeds, the other fails fast naming the holder.
func TestMigrateLock(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "rocky9", "lock")
	var wg sync.WaitGroup
	type result struct {
		code   int
		stderr string
	}
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, stderr, code := RunCrimig(t, migrateArgs(n.Name, "--no-reboot")...)
			results[i] = result{code, stderr}
		}()
	}
	wg.Wait()
	ok, locked := 0, 0
	for _, r := range results {
		switch {
		case r.code == 0:
			ok++
		case strings.Contains(r.stderr, "is locked by") && strings.Contains(r.stderr, "error: "):
			locked++
		default:
			t.Errorf("a run exited %d:\n%s", r.code, r.stderr)
		}
	}
	if ok != 1 || locked != 1 {
		t.Errorf("%d run(s) succeeded and %d were refused by the lock, want 1 and 1", ok, locked)
	}
	WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
	if runs := RunIDs(n); len(runs) != 1 {
		t.Errorf("run directories on the host: %v, want one", runs)
	}
}

// TestMigrateKeepsCordon migrates a node that was cordoned before: it stays
// cordoned afterwards.
func TestMigrateKeepsCordon(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "centos7", "cordon")
	SetUnschedulable(t, n.Name, true)
	events, stderr, code, elapsed := RunMigration(t, migrateArgs(n.Name, "--no-reboot")...)
	if code != 0 {
		t.Fatalf("migrate exited %d\nstderr:\n%s", code, stderr)
	}
	LogTimings(t, "centos7 --no-reboot", events, elapsed)
	node := WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
	if !node.Spec.Unschedulable {
		t.Error("the node was cordoned before crimig and is uncordoned after")
	}
	if st := NodeState(t, n.Name); st.CordonedByCrimig || st.Phase != migrate.StateSucceeded {
		t.Errorf("state %+v, want Succeeded and cordonedByCrimig false", st)
	}
	found := false
	for _, ev := range events {
		found = found || ev.Step == inspect.StepUncordon && strings.Contains(ev.Message, "cordoned before crimig")
	}
	if !found {
		t.Error("no event says the node is left cordoned")
	}
}

// TestMigrateRefusesMalformedHostConfig breaks one input file of the
// translation at a time: migrate stops in the preflight with CRIMIG061 and
// nothing changes (not cordoned, nothing written on the host).
func TestMigrateRefusesMalformedHostConfig(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, path, content string }{
		{"daemon.json", "/etc/docker/daemon.json", "{\"insecure-registries\": [\"a\",\n"},
		{"config.yaml", "/var/lib/kubelet/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: [systemd\n"},
		{"kubeadm-flags.env", "/var/lib/kubelet/kubeadm-flags.env", "KUBELET_KUBEADM_ARGS=\"--container-runtime=docker --network-plugin=cni\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := AddSimNode(t, "centos7", "bad")
			n.WriteHostFile(t, c.path, c.content)
			before := SnapshotFiles(t, n)

			_, planErr, planCode := RunCrimig(t, "plan", n.Name)
			if planCode != 2 {
				t.Errorf("plan exited %d, want 2\n%s", planCode, planErr)
			}
			_, stderr, code := RunCrimig(t, migrateArgs(n.Name)...)
			if code == 0 || !strings.Contains(stderr, inspect.IDTranslateFailed) || !strings.Contains(stderr, "error: ") {
				t.Errorf("migrate exited %d, want a failure naming %s:\n%s", code, inspect.IDTranslateFailed, stderr)
			}
			t.Logf("migrate with a malformed %s: %s", c.name, lastLine(stderr))
			node := GetNode(t, n.Name)
			if node.Spec.Unschedulable {
				t.Error("the node was cordoned")
			}
			if st := NodeState(t, n.Name); st != nil && (st.Phase != migrate.StateFailed || st.Step != inspect.StepLock) {
				t.Errorf("state %+v, want none, or Failed right after the lock", st)
			}
			if runs := RunIDs(n); len(runs) != 0 {
				t.Errorf("run directories on the host: %v", runs)
			}
			after := SnapshotFiles(t, n)
			for p, b := range before {
				if string(after[p]) != string(b) {
					t.Errorf("%s changed", p)
				}
			}
			if len(after) != len(before) {
				t.Errorf("%d files before, %d after", len(before), len(after))
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestMigrateNeedsConfirmation runs migrate without --yes and without a
// terminal: a clear refusal, and the node is untouched.
func TestMigrateNeedsConfirmation(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "rocky9", "noyes")
	_, stderr, code := RunCrimig(t, "migrate", n.Name)
	if code != 1 || !strings.Contains(stderr, "error: refusing to migrate without confirmation") || !strings.Contains(stderr, "--yes") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	node := GetNode(t, n.Name)
	if node.Spec.Unschedulable || node.Annotations[migrate.AnnotationState] != "" {
		t.Errorf("the node changed: unschedulable=%v state=%q", node.Spec.Unschedulable, node.Annotations[migrate.AnnotationState])
	}
	if len(CrimigPodsOn(t, n.Name)) != 0 || len(RunIDs(n)) != 0 {
		t.Error("a crimig pod or run directory was created")
	}
}

// TestMigrateBadFlags checks kubectl-style errors for wrong flags.
func TestMigrateBadFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--yes"}, "error: name at least one node"},
		{[]string{"migrate", "x", "--yes", "--to", "docker"}, `error: --to must be cri-o or containerd, got "docker"`},
		{[]string{"migrate", "x", "--yes", "--accept", "CRIMIG1"}, `error: --accept takes finding IDs such as CRIMIG010`},
		{[]string{"migrate", "x", "--yes", "-o", "xml"}, `error: unable to match a printer suitable for the output format "xml", allowed formats are: go-template,`},
		{[]string{"migrate", "x", "--yes", "--swap-timeout", "5s"}, `error: --swap-timeout must be at least 1m`},
		{[]string{"migrate", "x", "--yes", "--source", "bundle=/nonexistent.tgz"}, `error: --source bundle=/nonexistent.tgz`},
		{[]string{"migrate", "x", "--yes", "--no-such-flag"}, `error: unknown flag: --no-such-flag`},
		{[]string{"migrate", "nosuchnode", "--yes"}, `nosuchnode`},
		{[]string{"rollback", "--yes"}, "error: name the node to roll back"},
		{[]string{"migrate", "x", "--yes", "--report", RepoRoot()}, "error: --report directory " + RepoRoot() + " is not empty"},
		{[]string{"migrate", "x", "--dry-run", "--report", "/tmp/crimig-e2e-report"}, "error: --report records a migration; it cannot be combined with --dry-run"},
		{[]string{"migrate", "x", "--yes", "--smoke-image", " "}, "error: --smoke-image"},
	}
	for _, c := range cases {
		out, errOut, code := RunCrimig(t, c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) || strings.Count(errOut, "error: ") != 1 || !strings.HasPrefix(lastLine(errOut), "error: ") && !strings.Contains(errOut, "\nerror: ") && !strings.HasPrefix(errOut, "error: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one kubectl-style error containing %q", c.args, code, errOut, c.want)
		}
		if out != "" {
			t.Errorf("%v printed on stdout: %q", c.args, out)
		}
	}
}

// TestMigrateEventTemplate: -o jsonpath prints each event through kubectl's
// jsonpath printer on stdout, one line per event here, ending with done.
func TestMigrateEventTemplate(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "ubuntu22", "evtpl")
	out, stderr, code := RunCrimig(t, append(migrateArgs(n.Name), "-o", `jsonpath={.node}|{.step}|{.phase}{"\n"}`)...)
	if code != 0 {
		t.Fatalf("migrate -o jsonpath exited %d\nstderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	phases := map[string]bool{}
	for _, p := range []migrate.Phase{migrate.PhaseStarted, migrate.PhaseProgress, migrate.PhaseDone, migrate.PhaseSkipped, migrate.PhaseFailed, migrate.PhaseInfo} {
		phases[string(p)] = true
	}
	for _, l := range lines {
		if f := strings.Split(l, "|"); len(f) != 3 || !phases[f[2]] {
			t.Errorf("not an event printed by the template: %q", l)
		}
	}
	if !slices.Contains(lines, n.Name+"|swap|done") || !strings.HasSuffix(lines[len(lines)-1], "|done") {
		t.Errorf("migrate -o jsonpath: no swap done, or not ending with done:\n%s", out)
	}
}
