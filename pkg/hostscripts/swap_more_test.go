package hostscripts

import (
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

func TestSwapToContainerdAndBack(t *testing.T) {
	s := newSimHost(t, "rocky9")
	staged := map[string]stagedFile{
		"/var/lib/kubelet/kubeadm-flags.env": {`KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock"` + "\n", 0o644},
		"/etc/containerd/config.toml": {"version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n" +
			"  SystemdCgroup = true\n", 0o644},
	}
	paths := []string{"/etc/docker/daemon.json", "/etc/containerd/config.toml", "/var/lib/kubelet/kubeadm-flags.env"}
	pristine := map[string]*string{}
	for _, p := range paths {
		c, _ := s.read(p)
		pristine[p] = &c
	}
	s.mustSh(Get(Backup), "CRIMIG_RUN_ID=r1", "CRIMIG_BACKUP_PATHS="+strings.Join(paths, "\n"))
	for p, f := range staged {
		s.write("/var/lib/crimig/r1/staged"+p, f.content, f.mode)
	}
	env := []string{"CRIMIG_MODE=swap", "CRIMIG_TARGET=containerd", "CRIMIG_RUNTIME_SOCKET=" + socketOf(hostconf.ContainerdEndpoint),
		"CRIMIG_SOCKET_TIMEOUT=5", "CRIMIG_KUBELET_CHECK=1"}
	entries := s.detach("r1", "swap", Get(Swap), env...)
	if e := entries[len(entries)-2]; e.String() != "swap done" {
		t.Fatalf("swap to containerd failed: %v", entries)
	}
	if k := s.H.Kubelet(); k == nil || k.Runtime != "containerd" {
		t.Errorf("the kubelet does not run on containerd: %+v", k)
	}
	if a, e := s.unit("docker.socket"); a != "inactive" || e != "disabled" {
		t.Errorf("docker.socket is %s/%s", a, e)
	}

	env[0] = "CRIMIG_MODE=rollback"
	entries = s.detach("r1", "rollback", Get(Swap), env...)
	if e := entries[len(entries)-2]; e.String() != "rollback done" {
		t.Fatalf("rollback failed: %v", entries)
	}
	// docker's containerd keeps running, on its own config again.
	if a, e := s.unit("containerd.service"); a != "active" || e != "enabled" {
		t.Errorf("containerd.service is %s/%s, want active/enabled", a, e)
	}
	if s.H.ContainerdCRIEnabled() {
		t.Error("containerd still serves CRI after the rollback")
	}
	checkOnDocker(t, s, pristine)
}

func TestSwapDockershimNodeToCrio(t *testing.T) {
	s := newSimHost(t, "centos7")
	staged := map[string]stagedFile{
		"/var/lib/kubelet/kubeadm-flags.env": {`KUBELET_KUBEADM_ARGS="--container-runtime=remote --container-runtime-endpoint=unix:///var/run/crio/crio.sock"` + "\n", 0o644},
		"/etc/crio/crio.conf.d/90-crimig.conf": {"[crio.runtime]\ncgroup_manager = \"cgroupfs\"\nconmon_cgroup = \"pod\"\n\n" +
			"[crio.image]\npause_image = \"registry.corp.example:5000/k8s/pause:3.6\"\n", 0o644},
		"/etc/systemd/system/crio.service.d/90-crimig.conf": {"[Service]\nKillMode=process\n", 0o644},
	}
	s.write("/etc/yum.repos.d/crimig-cri-o.repo", strings.ReplaceAll(crioRepo, "v1.29", "v1.22"), 0o644)
	s.mustSh("yum install -y cri-o")
	// With live-restore, docker would leave the pods' containers running.
	daemon, _ := s.read("/etc/docker/daemon.json")
	s.write("/etc/docker/daemon.json", strings.Replace(daemon, "{", "{\n  \"live-restore\": true,", 1), 0o644)
	paths := []string{"/etc/docker/daemon.json", "/etc/sysconfig/kubelet"}
	for p := range staged {
		paths = append(paths, p)
	}
	pristine := map[string]*string{}
	for _, p := range paths {
		if c, ok := s.read(p); ok {
			pristine[p] = &c
		} else {
			pristine[p] = nil
		}
	}
	s.mustSh(Get(Backup), "CRIMIG_RUN_ID=r1", "CRIMIG_BACKUP_PATHS="+strings.Join(paths, "\n"))
	for p, f := range staged {
		s.write("/var/lib/crimig/r1/staged"+p, f.content, f.mode)
	}
	entries := s.swapJob("swap", "swap", "swap done")
	if m := entries[6].Message; entries[6].Step != "stop-docker" || strings.Contains(m, "cri-docker") || !strings.Contains(m, "live-restore") {
		t.Errorf("stop-docker on a dockershim node: %+v", entries[6])
	}
	if k := s.H.Kubelet(); k == nil || k.Runtime != "crio" {
		t.Errorf("the kubelet does not run on crio: %+v", k)
	}
	if a, e := s.unit("docker.socket"); a != "inactive" || e != "disabled" {
		t.Errorf("docker.socket is %s/%s", a, e)
	}
	s.swapJob("rollback", "rollback", "rollback done")
	if k := s.H.Kubelet(); k == nil || k.Runtime != "docker" || !s.H.IsActive("docker.service") {
		t.Errorf("the kubelet is not back on dockershim: %+v", k)
	}
	for p, want := range pristine {
		if got, ok := s.read(p); (want == nil) == ok || (want != nil && got != *want) {
			t.Errorf("%s not restored: exists=%v", p, ok)
		}
	}
}

func TestSwapWithReboot(t *testing.T) {
	s := newSimHost(t, "rocky9")
	prepareSwap(t, s, "r1", crioFiles())
	boot := s.H.BootID()
	env := append(swapEnv("swap"), "CRIMIG_REBOOT=1")
	s.start("r1", "swap", Get(Swap), env...)
	deadline := time.Now().Add(30 * time.Second)
	for (s.H.BootID() == boot || s.H.BootID() == "" || s.H.Rebooting()) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if s.H.BootID() == boot {
		t.Fatalf("the node did not reboot; journal: %v", s.journal("r1", "swap"))
	}
	got := phases(s.journal("r1", "swap"))
	// systemctl reboot kills the job at once: it must have journaled its
	// success, exit code included, before it asked.
	want := []string{"start-kubelet done", "reboot started", "swap done", "exited 0"}
	if len(got) < 4 || !cmp.Equal(want, got[len(got)-4:]) {
		t.Fatalf("journal ends %v, want %v", got, want)
	}
	// After the boot only what was enabled comes up: crio and the kubelet.
	checkOnCrio(t, s)
}

// useShell makes the host's /bin/sh the named shell (dash, bash) instead of
// busybox ash, copying it and its libraries into the root.
func (s *simHost) useShell(name string) {
	s.t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		s.t.Fatalf("%s is not installed (apt-get install -y %s)", name, name)
	}
	f, err := elf.Open(bin)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	files := []string{bin}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			_, _ = p.ReadAt(b, 0)
			files = append(files, strings.TrimRight(string(b), "\x00"))
		}
	}
	libs, _ := f.ImportedLibraries()
	for _, l := range libs {
		for _, d := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
			if _, err := os.Stat(filepath.Join(d, l)); err == nil {
				files = append(files, filepath.Join(d, l))
				break
			}
		}
	}
	for _, src := range files {
		real, err := filepath.EvalSymlinks(src)
		if err != nil {
			s.t.Fatal(err)
		}
		dst := filepath.Join(s.Root, src)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		in, err := os.Open(real)
		if err != nil {
			s.t.Fatal(err)
		}
		_ = os.MkdirAll(filepath.Dir(dst), 0o755)
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			s.t.Fatal(err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err != nil || cerr != nil {
			s.t.Fatal(err, cerr)
		}
	}
	sh := filepath.Join(s.Root, "usr/bin/sh")
	_ = os.Remove(sh)
	if err := os.Symlink(bin, sh); err != nil {
		s.t.Fatal(err)
	}
	if out := s.mustSh(`readlink /bin/sh`); out != bin+"\n" {
		s.t.Fatalf("/bin/sh is not %s: %q", bin, out)
	}
}

// TestSwapAndRollbackUnderOtherShells runs the whole cycle with dash (Debian,
// Ubuntu) and bash in POSIX mode (RHEL, CentOS) as /bin/sh.
func TestSwapAndRollbackUnderOtherShells(t *testing.T) {
	for _, shell := range []string{"dash", "bash"} {
		t.Run(shell, func(t *testing.T) {
			s := newSimHost(t, "rocky9")
			s.useShell(shell)
			staged := crioFiles()
			staged["/etc/crio/crio.conf.d/90-crimig.conf"] = stagedFile{"[crio.runtime\n", 0o644}
			pristine := prepareSwap(t, s, "r1", staged)
			s.swapJob("swap", "swap", "swap rolled-back")
			checkOnDocker(t, s, pristine)

			s.write("/var/lib/crimig/r1/staged/etc/crio/crio.conf.d/90-crimig.conf", crioFiles()["/etc/crio/crio.conf.d/90-crimig.conf"].content, 0o644)
			s.swapJob("swap2", "swap", "swap done")
			checkOnCrio(t, s)
			s.swapJob("rollback", "rollback", "rollback done")
			checkOnDocker(t, s, pristine)
		})
	}
}

// TestSwapReportsARestoreThatCannotComplete damages a backup copy: the
// restore still does all it can (docker comes back) and says what it could
// not do.
func TestSwapReportsARestoreThatCannotComplete(t *testing.T) {
	s := newSimHost(t, "rocky9")
	staged := crioFiles()
	staged["/etc/crio/crio.conf.d/90-crimig.conf"] = stagedFile{"[crio.runtime\n", 0o644}
	prepareSwap(t, s, "r1", staged)
	s.write("/var/lib/crimig/r1/backup/var/lib/kubelet/kubeadm-flags.env", "damaged\n", 0o644)

	entries := s.detach("r1", "swap", Get(Swap), swapEnv("swap")...)
	journalEndsWith(t, entries, "start-runtime failed", "restore started", "restore failed", "swap failed", "exited 1")
	if m := entries[len(entries)-3].Message; !strings.Contains(m, "the backup of /var/lib/kubelet/kubeadm-flags.env is missing or damaged") {
		t.Errorf("restore failed message = %q", m)
	}
	if m := entries[len(entries)-2].Message; !strings.Contains(m, "the rollback did not complete") {
		t.Errorf("swap failed message = %q", m)
	}
	if !s.H.IsActive("docker.service") || !s.H.IsActive("cri-docker.service") {
		t.Error("docker did not come back")
	}
	if _, ok := s.read("/etc/crio/crio.conf.d/90-crimig.conf"); ok {
		t.Error("the other files were not restored")
	}
}

// TestSwapKeepsTheNewRuntimeWhenTheRebootCannotBeAsked: the node already
// runs on CRI-O, so a failed reboot request is reported, not rolled back.
func TestSwapKeepsTheNewRuntimeWhenTheRebootCannotBeAsked(t *testing.T) {
	s := newSimHost(t, "rocky9")
	prepareSwap(t, s, "r1", crioFiles())
	s.write("/usr/local/sbin/systemctl", "#!/bin/sh\n[ \"$1\" != reboot ] || { echo 'Failed to reboot: access denied' >&2; exit 1; }\nexec /usr/bin/systemctl \"$@\"\n", 0o755)
	s.write("/usr/local/sbin/reboot", "#!/bin/sh\necho 'reboot: not permitted' >&2\nexit 1\n", 0o755)
	boot := s.H.BootID()
	s.detach("r1", "swap", Get(Swap), append(swapEnv("swap"), "CRIMIG_REBOOT=1")...)
	// The job journals its success before it asks for the reboot; the
	// runner journals the exit again when the job ends.
	entries := s.journal("r1", "swap")
	for deadline := time.Now().Add(30 * time.Second); len(entries) < 2 || entries[len(entries)-2].String() != "reboot failed"; {
		if time.Now().After(deadline) {
			t.Fatalf("the job did not report the failed reboot: %v", entries)
		}
		time.Sleep(50 * time.Millisecond)
		entries = s.journal("r1", "swap")
	}
	got := phases(entries)
	if diff := cmp.Diff([]string{"start-kubelet done", "reboot started", "swap done", "exited 0", "reboot failed", "exited 0"}, got[len(got)-6:]); diff != "" {
		t.Fatalf("journal (-want +got):\n%s\n%v", diff, entries)
	}
	if m := entries[len(entries)-2].Message; !strings.Contains(m, "reboot: not permitted") {
		t.Errorf("reboot failed message = %q", m)
	}
	if s.H.BootID() != boot {
		t.Error("the node rebooted")
	}
	checkOnCrio(t, s)
}
