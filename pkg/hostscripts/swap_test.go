package hostscripts

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

// crioRepo is the repo file install.sh writes for CRI-O 1.29 on rpm hosts.
const crioRepo = `[crimig-cri-o]
name=CRI-O v1.29 (kubectl crimig)
baseurl=https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.29/rpm/
enabled=1
gpgcheck=1
gpgkey=https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.29/rpm/repodata/repomd.xml.key
`

// stagedFile is a file the engine uploads to <state>/<run>/staged before the swap.
type stagedFile struct {
	content string
	mode    os.FileMode
}

// crioFiles is what the engine stages for the rocky9 fixture (kubelet 1.29,
// cri-dockerd) when it moves to CRI-O.
func crioFiles() map[string]stagedFile {
	return map[string]stagedFile{
		"/var/lib/kubelet/kubeadm-flags.env": {`KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/crio/crio.sock"` + "\n", 0o644},
		"/etc/crio/crio.conf.d/90-crimig.conf": {"[crio.runtime]\ncgroup_manager = \"systemd\"\n\n" +
			"[crio.image]\npause_image = \"registry.k8s.io/pause:3.9\"\n", 0o644},
		"/etc/containers/registries.conf.d/90-crimig.conf": {"unqualified-search-registries = [\"docker.io\"]\n", 0o640},
	}
}

// backupPaths are the files backed up before a swap: every staged file plus
// files that stay as they are.
var backupPaths = []string{"/etc/docker/daemon.json", "/etc/sysconfig/kubelet", "/var/lib/kubelet/config.yaml"}

// prepareSwap installs CRI-O, backs up and stages the files, as the engine
// does before it starts swap.sh. It returns the pristine content of every
// backed-up path ("" with ok=false when absent).
func prepareSwap(t *testing.T, s *simHost, run string, staged map[string]stagedFile) map[string]*string {
	t.Helper()
	s.write("/etc/yum.repos.d/crimig-cri-o.repo", crioRepo, 0o644)
	s.mustSh("dnf install -y cri-o")
	paths := append([]string{}, backupPaths...)
	for p := range staged {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	pristine := map[string]*string{}
	for _, p := range paths {
		if c, ok := s.read(p); ok {
			pristine[p] = &c
		} else {
			pristine[p] = nil
		}
	}
	if _, err := ParseBackupSummary([]byte(s.mustSh(Get(Backup), "CRIMIG_RUN_ID="+run,
		"CRIMIG_BACKUP_PATHS="+strings.Join(paths, "\n")))); err != nil {
		t.Fatal(err)
	}
	for p, f := range staged {
		s.write("/var/lib/crimig/"+run+"/staged"+p, f.content, f.mode)
	}
	return pristine
}

func swapEnv(mode string) []string {
	return []string{"CRIMIG_MODE=" + mode, "CRIMIG_TARGET=cri-o", "CRIMIG_RUNTIME_SOCKET=" + socketOf(hostconf.CrioEndpoint), "CRIMIG_REBOOT=0",
		"CRIMIG_SOCKET_TIMEOUT=5", "CRIMIG_KUBELET_CHECK=1"}
}

// socketOf is the socket path of an endpoint, as the engine passes it.
func socketOf(endpoint string) string { return strings.TrimPrefix(endpoint, "unix://") }

// swapJob runs swap.sh as job of run r1 in mode and fails the test unless
// the job's last entry before its exit is want, such as "swap done".
func (s *simHost) swapJob(job, mode, want string) []journalEntry {
	s.t.Helper()
	entries := s.detach("r1", job, Get(Swap), swapEnv(mode)...)
	if e := entries[len(entries)-2]; e.String() != want {
		log, _ := s.read(RunDir("r1") + "/jobs/" + job + ".log")
		s.t.Fatalf("%s job %s ended with %q, want %q: %v\n%s", mode, job, e, want, entries, log)
	}
	return entries
}

// journalEndsWith fails the test unless the job's journal ends with want.
func journalEndsWith(t *testing.T, entries []journalEntry, want ...string) {
	t.Helper()
	got := phases(entries)
	if len(got) < len(want) {
		t.Fatalf("journal %v is shorter than %v", entries, want)
	}
	if diff := cmp.Diff(want, got[len(got)-len(want):]); diff != "" {
		t.Fatalf("journal (-want +got):\n%s\n%v", diff, entries)
	}
}

func phases(entries []journalEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.String())
	}
	return out
}

var swapSteps = []string{"preflight", "stop-kubelet", "stop-docker", "install-files", "start-runtime", "start-kubelet"}

func TestSwapToCrio(t *testing.T) {
	s := newSimHost(t, "rocky9")
	staged := crioFiles()
	pristine := prepareSwap(t, s, "r1", staged)
	// What an upload killed mid-way leaves behind is not a staged file.
	s.write("/var/lib/crimig/r1/staged/etc/crio/crio.conf.d/90-crimig.conf.crimig-upload.4242", "[crio", 0o644)

	entries := s.detach("r1", "swap", Get(Swap), swapEnv("swap")...)
	want := []string{" started"}
	for _, st := range swapSteps {
		want = append(want, st+" started", st+" done")
	}
	want = append(want, "swap done", "exited 0")
	if diff := cmp.Diff(want, phases(entries)); diff != "" {
		t.Fatalf("journal (-want +got):\n%s\n%v", diff, entries)
	}
	checkOnCrio(t, s)
	for p, f := range staged {
		got, _ := s.read(p)
		st, err := os.Stat(filepath.Join(s.Root, p))
		if got != f.content || err != nil || st.Mode().Perm() != f.mode {
			t.Errorf("%s: content %q mode %v, want %q %v", p, got, st.Mode().Perm(), f.content, f.mode)
		}
	}
	if _, ok := s.read("/etc/crio/crio.conf.d/90-crimig.conf.crimig-upload.4242"); ok {
		t.Error("an upload's temporary file was installed")
	}

	// Run again, as a resumed migrate would: every step holds, nothing breaks.
	entries = s.detach("r1", "swap2", Get(Swap), swapEnv("swap")...)
	if last := entries[len(entries)-2]; last.String() != "swap done" {
		t.Fatalf("a second swap did not end with swap done: %v", entries)
	}
	checkOnCrio(t, s)
	// The second run must not have recorded docker's units as they are now
	// (disabled, held): the rollback still brings docker back.
	entries = s.detach("r1", "rollback", Get(Swap), swapEnv("rollback")...)
	if last := entries[len(entries)-2]; last.String() != "rollback done" {
		t.Fatalf("rollback after two swaps: %v", entries)
	}
	checkOnDocker(t, s, pristine)
}

func checkOnCrio(t *testing.T, s *simHost) {
	t.Helper()
	for u, want := range map[string][2]string{
		"docker.service":     {"inactive", "disabled"},
		"docker.socket":      {"inactive", "disabled"},
		"cri-docker.service": {"inactive", "disabled"},
		"cri-docker.socket":  {"inactive", "disabled"},
		"crio.service":       {"active", "enabled"},
		"kubelet.service":    {"active", "enabled"},
	} {
		if a, e := s.unit(u); a != want[0] || e != want[1] {
			t.Errorf("%s is %s/%s, want %s/%s", u, a, e, want[0], want[1])
		}
	}
	if k := s.H.Kubelet(); k == nil || k.Runtime != "crio" {
		t.Errorf("the kubelet does not run on crio: %+v", k)
	}
	// A docker call must not bring docker back (design 7b), nor may
	// anything else start docker's units.
	_, _ = s.sh("docker ps")
	if s.H.IsActive("docker.service") {
		t.Error("docker ps re-activated docker.service through its socket")
	}
	for _, u := range []string{"docker.socket", "docker.service", "cri-docker.socket", "cri-docker.service"} {
		if out, err := s.sh("systemctl start " + u); err != nil || s.H.IsActive(u) {
			t.Errorf("systemctl start %s: the unit started or failed (%v): %s", u, err, out)
		}
	}
}

func checkOnDocker(t *testing.T, s *simHost, pristine map[string]*string) {
	t.Helper()
	if holds := s.H.Glob("/etc/systemd/system/*.d/*crimig-hold*"); len(holds) > 0 {
		t.Errorf("back on docker, but crimig still holds units: %v", holds)
	}
	for u, want := range map[string][2]string{
		"docker.service":     {"active", "enabled"},
		"docker.socket":      {"active", "enabled"},
		"cri-docker.service": {"active", "enabled"},
		"cri-docker.socket":  {"active", "enabled"},
		"kubelet.service":    {"active", "enabled"},
	} {
		if a, e := s.unit(u); a != want[0] || e != want[1] {
			t.Errorf("%s is %s/%s, want %s/%s", u, a, e, want[0], want[1])
		}
	}
	if a, e := s.unit("crio.service"); a != "inactive" || (e != "disabled" && e != "not-found") {
		t.Errorf("crio.service is %s/%s, want inactive and disabled", a, e)
	}
	if k := s.H.Kubelet(); k == nil || k.Runtime != "docker" {
		t.Errorf("the kubelet does not run on docker: %+v", k)
	}
	for p, want := range pristine {
		got, ok := s.read(p)
		switch {
		case want == nil && ok:
			t.Errorf("%s did not exist before the migration but is still there", p)
		case want != nil && got != *want:
			t.Errorf("%s was not restored byte for byte:\n%s", p, cmp.Diff(*want, got))
		}
	}
}

func TestSwapRollsBackWhenCrioDoesNotStart(t *testing.T) {
	s := newSimHost(t, "rocky9")
	staged := crioFiles()
	staged["/etc/crio/crio.conf.d/90-crimig.conf"] = stagedFile{"[crio.runtime\ncgroup_manager = systemd\n", 0o644}
	pristine := prepareSwap(t, s, "r1", staged)

	entries := s.detach("r1", "swap", Get(Swap), swapEnv("swap")...)
	got := phases(entries)
	want := []string{" started", "preflight started", "preflight done", "stop-kubelet started", "stop-kubelet done",
		"stop-docker started", "stop-docker done", "install-files started", "install-files done",
		"start-runtime started", "start-runtime failed", "restore started", "restore done", "swap rolled-back", "exited 1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("journal (-want +got):\n%s\n%v", diff, entries)
	}
	failed := entries[10].Message
	if !strings.Contains(failed, "systemctl restart crio.service failed") || !strings.Contains(failed, "90-crimig.conf") {
		t.Errorf("the failure does not say what broke: %q", failed)
	}
	if m := entries[13].Message; !strings.HasPrefix(m, "start-runtime failed: ") {
		t.Errorf("rolled-back message = %q", m)
	}
	checkOnDocker(t, s, pristine)
}

func TestSwapRollsBackWhenKubeletDoesNotStart(t *testing.T) {
	s := newSimHost(t, "rocky9")
	staged := crioFiles()
	// kubelet 1.29 no longer knows --network-plugin.
	staged["/var/lib/kubelet/kubeadm-flags.env"] = stagedFile{
		`KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/crio/crio.sock --network-plugin=cni"` + "\n", 0o644}
	pristine := prepareSwap(t, s, "r1", staged)

	entries := s.detach("r1", "swap", Get(Swap), swapEnv("swap")...)
	journalEndsWith(t, entries, "start-kubelet failed", "restore started", "restore done", "swap rolled-back", "exited 1")
	if m := entries[len(entries)-5].Message; !strings.Contains(m, "network-plugin") {
		t.Errorf("the failure does not name the kubelet's complaint: %q", m)
	}
	checkOnDocker(t, s, pristine)
}

func TestSwapPreflightChangesNothing(t *testing.T) {
	s := newSimHost(t, "rocky9")
	prepareSwap(t, s, "r1", crioFiles())
	s.write("/var/lib/crimig/r1/staged/etc/crictl.yaml", "runtime-endpoint: unix:///var/run/crio/crio.sock\n", 0o644)

	entries := s.detach("r1", "swap", Get(Swap), swapEnv("swap")...)
	if diff := cmp.Diff([]string{" started", "preflight started", "preflight failed", "swap failed", "exited 1"}, phases(entries)); diff != "" {
		t.Fatalf("journal (-want +got):\n%s\n%v", diff, entries)
	}
	if m := entries[2].Message; !strings.Contains(m, "/etc/crictl.yaml has no backup") {
		t.Errorf("preflight message = %q", m)
	}
	if !s.H.IsActive("docker.service") || !s.H.IsActive("kubelet.service") {
		t.Error("a failed preflight stopped docker or the kubelet")
	}
}

func TestRollbackAfterSwap(t *testing.T) {
	s := newSimHost(t, "rocky9")
	pristine := prepareSwap(t, s, "r1", crioFiles())
	s.swapJob("swap", "swap", "swap done")
	checkOnCrio(t, s)

	entries := s.detach("r1", "rollback", Get(Swap), swapEnv("rollback")...)
	if diff := cmp.Diff([]string{" started", "restore started", "restore done", "rollback done", "exited 0"}, phases(entries)); diff != "" {
		t.Fatalf("journal (-want +got):\n%s\n%v", diff, entries)
	}
	checkOnDocker(t, s, pristine)
	// And a second rollback is harmless.
	s.swapJob("rollback2", "rollback", "rollback done")
	checkOnDocker(t, s, pristine)
}

// cri-dockerd's install instructions put its units in /etc/systemd/system,
// where systemctl mask refuses them: the swap must keep them (and docker's)
// from starting another way, and the rollback must undo it.
func TestSwapHoldsDockerUnitsWhoseFilesAreInEtc(t *testing.T) {
	s := newSimHost(t, "rocky9")
	s.mustSh(`mv /usr/lib/systemd/system/cri-docker.service /usr/lib/systemd/system/cri-docker.socket /etc/systemd/system/
		systemctl daemon-reload`)
	pristine := prepareSwap(t, s, "r1", crioFiles())
	s.swapJob("swap", "swap", "swap done")
	checkOnCrio(t, s)
	for _, u := range []string{"cri-docker.service", "cri-docker.socket"} {
		if _, ok := s.read("/etc/systemd/system/" + u); !ok {
			t.Errorf("the swap removed %s's unit file", u)
		}
	}
	s.swapJob("rollback", "rollback", "rollback done")
	checkOnDocker(t, s, pristine)
}
