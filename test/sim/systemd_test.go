package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

func TestSystemctlVerbs(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	out := simtest.Console(t, root, `systemctl stop kubelet cri-docker cri-docker.socket 2>/dev/null
		systemctl disable --now docker.socket docker 2>&1
		systemctl mask docker.socket 2>&1
		systemctl is-enabled docker.socket || true
		systemctl start docker.socket 2>&1 || echo "start rc=$?"
		systemctl show -p LoadState,ActiveState --value docker.socket
		systemctl is-active docker || echo "is-active rc=$?"
		docker ps 2>&1 || echo "docker rc=$?"
		systemctl unmask docker.socket 2>&1
		systemctl start crio 2>&1 || echo "crio rc=$?"`)
	want := `Removed /etc/systemd/system/sockets.target.wants/docker.socket.
Removed /etc/systemd/system/multi-user.target.wants/docker.service.
Created symlink /etc/systemd/system/docker.socket → /dev/null.
masked
Failed to start docker.socket: Unit docker.socket is masked.
start rc=1
masked
inactive
inactive
is-active rc=3
Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?
docker rc=1
Removed /etc/systemd/system/docker.socket.
Failed to start crio.service: Unit crio.service not found.
crio rc=5
`
	if out != want {
		t.Errorf("systemctl session:\n%s\nwant:\n%s", out, want)
	}
}

func TestSystemdRunTransientUnits(t *testing.T) {
	root := simtest.Root(t, "centos7", "node-1")
	out := simtest.Sh(t, root, `systemd-run --unit crimig-r1-prep /bin/sh -c 'echo hello from the job; exit 3' 2>&1
		sleep 1
		systemctl is-active crimig-r1-prep || true
		journalctl -u crimig-r1-prep | head -1
		systemd-run --unit crimig-r1-prep /bin/true 2>&1 || echo "rerun rc=$?"
		systemctl reset-failed crimig-r1-prep
		systemd-run --unit crimig-r1-prep --collect /bin/sh -c 'exit 3' 2>&1
		sleep 1
		systemctl is-active crimig-r1-prep || true
		systemd-run --scope --unit crimig-r1-scope /bin/sh -c 'echo in a scope; exit 4' || echo "scope rc=$?"`)
	want := `Running as unit: crimig-r1-prep.service
failed
hello from the job
Failed to start transient service unit: Unit crimig-r1-prep.service was already loaded or has a fragment file.
rerun rc=1
Running as unit: crimig-r1-prep.service
inactive
in a scope
scope rc=4
`
	if out != want {
		t.Errorf("systemd-run session:\n%s\nwant:\n%s", out, want)
	}
}

func TestRebootKeepsOnlyPersistedState(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	h := host.New(root)
	before := h.BootID()
	writeFile(t, root, "/etc/modules-load.d/ipvs.conf", "ip_vs_rr\n")
	writeFile(t, root, "/etc/sysctl.d/90-inotify.conf", "fs.inotify.max_user_watches = 524288\n")
	simtest.Sh(t, root, "sysctl -w vm.swappiness=10 >/dev/null && modprobe ip_vs && touch /run/runtime-only")
	simtest.Sh(t, root, "systemctl disable docker.service >/dev/null 2>&1; systemctl is-active docker")

	victim := simtest.Start(t, root, "/bin/sh", "-c", "sleep 300")
	simtest.Eventually(t, 5*time.Second, "exec'd sleep", func() bool { return len(simtest.PidsMatching(root, "sleep 300")) > 0 })
	victims := simtest.PidsMatching(root, "sleep 300")
	simtest.Sh(t, root, "reboot")
	simtest.Eventually(t, 15*time.Second, "the reboot", func() bool {
		return h.BootID() != before && h.BootID() != "" && !h.Rebooting()
	})
	_ = victim
	for _, pid := range victims {
		if simtest.Alive(pid) {
			t.Errorf("exec'd process %d survived the reboot", pid)
		}
	}
	checks := []struct{ cmd, want string }{
		{"sysctl -n vm.swappiness", "60"},                   // runtime-only: back to default
		{"sysctl -n fs.inotify.max_user_watches", "524288"}, // persisted in sysctl.d
		{"lsmod | grep -c '^ip_vs ' || true", "0"},
		{"lsmod | grep -c '^ip_vs_rr '", "1"},
		{"sysctl -n net.bridge.bridge-nf-call-iptables", "1"},
		{"systemctl is-active docker.socket", "active"},
		{"systemctl is-active containerd", "active"},
		{"test -e /run/runtime-only && echo kept || echo gone", "gone"},
		{"cat /proc/sys/kernel/random/boot_id", h.BootID()},
	}
	for _, c := range checks {
		if got := strings.TrimSpace(simtest.Sh(t, root, c.cmd)); got != c.want {
			t.Errorf("%s after reboot = %q, want %q", c.cmd, got, c.want)
		}
	}
	// docker.service was disabled: only socket activation (cri-dockerd) brings it back.
	if !h.IsActive("docker.service") {
		t.Error("cri-dockerd did not socket-activate docker after the reboot")
	}
}
