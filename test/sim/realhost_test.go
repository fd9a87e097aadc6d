package sim_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/bundle"
	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

// The rules in this file were learned on a real systemd node (realnode.md).
// The simulator enforces them so that the fast tests catch what only a real
// host showed.

// systemd-run starts a service with systemd's environment, never the
// caller's: a detached job gets only what --setenv (or -E) hands it.
func TestSystemdRunGivesACleanEnvironment(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	out := filepath.Join(root, "tmp/env.out")
	simtest.Sh(t, root, `export CRIMIG_RUN_ID=r1 FROM_CALLER=yes
		systemd-run --unit crimig-r1-env --setenv=HANDED=over -E ALSO=this /bin/sh -c \
			'echo "run=${CRIMIG_RUN_ID-unset} caller=${FROM_CALLER-unset} handed=$HANDED also=$ALSO path=$PATH" >/tmp/env.tmp && mv /tmp/env.tmp /tmp/env.out' 2>/dev/null`)
	simtest.Eventually(t, 10*time.Second, "the job's output", func() bool {
		_, err := os.Stat(out)
		return err == nil
	})
	data, _ := os.ReadFile(out)
	want := "run=unset caller=unset handed=over also=this path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
	if string(data) != want {
		t.Errorf("the transient service saw\n%swant\n%s", data, want)
	}
	got := simtest.Sh(t, root, `export FROM_CALLER=yes
		systemd-run --pipe --quiet -E HANDED=1 /bin/sh -c 'echo "pipe: ${FROM_CALLER-unset} $HANDED"'
		systemd-run --scope --quiet /bin/sh -c 'echo "scope: ${FROM_CALLER-unset}"'`)
	if want := "pipe: unset 1\nscope: yes\n"; got != want {
		t.Errorf("--pipe (a service) and --scope (the caller's child) saw\n%swant\n%s", got, want)
	}
}

// On Debian and Ubuntu /bin/sh is dash, which has no `source` and no `[[`;
// bash is there too, as on every real host.
func TestDebianShellIsDash(t *testing.T) {
	for _, c := range []struct{ fixture, want string }{
		{"ubuntu22", "dash: source: not found; bash: ok"},
		{"rocky9", "sh: source ok; bash: ok"},
	} {
		root := simtest.Root(t, c.fixture, "node-1")
		got := strings.TrimSpace(simtest.Sh(t, root, `echo 'x=1' >/tmp/lib.sh
			if /bin/sh -c 'source /tmp/lib.sh' >/dev/null 2>&1; then printf 'sh: source ok; '; else printf 'dash: source: not found; '; fi
			printf 'bash: %s\n' "$(bash -c 'source /tmp/lib.sh; [[ -n x ]] && echo "$BASH_VERSION" | sed "s/.*/ok/"')"`))
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.fixture, got, c.want)
		}
	}
}

// CRI-O's bundle install script is bash without a valid "#!" line: dash
// (Debian's /bin/sh) fails on it however it is started, bash runs it.
func TestBundleInstallNeedsBash(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	f, err := os.Create(filepath.Join(root, "tmp/cri-o.amd64.v1.29.1.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := bundle.Write(f, "1.29.1"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := simtest.Sh(t, root, `cd /tmp && tar xzf cri-o.amd64.v1.29.1.tar.gz && cd cri-o
		./install 2>&1 || echo "./install rc=$?"
		sh ./install 2>&1 || echo "sh rc=$?"
		test -e /usr/local/bin/crio || echo "nothing installed"
		bash ./install && crio --version`)
	for _, w := range []string{"source: not found\n./install rc=127\n", "source: not found\nsh rc=127\n", "nothing installed\n",
		"CRI-O 1.29.1 installed to /usr/local/bin\ncrio version 1.29.1\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("the bundle's install under dash and bash:\n%s\nwant it to contain %q", out, w)
		}
	}
}

// systemctl mask refuses a unit whose own file is in /etc/systemd/system,
// where cri-dockerd's install instructions put its units, and leaves the
// file alone. Units in /usr/lib are masked as before.
func TestMaskRefusesAUnitFileInEtc(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	out := simtest.Console(t, root, `mv /usr/lib/systemd/system/cri-docker.socket /etc/systemd/system/
		systemctl daemon-reload
		systemctl mask cri-docker.socket; echo "rc=$?"
		systemctl mask --now cri-docker.socket 2>/dev/null; echo "rc=$? $(systemctl is-active cri-docker.socket)"
		test -f /etc/systemd/system/cri-docker.socket && echo "unit file kept"
		systemctl mask docker.socket 2>&1; echo "rc=$?"`)
	want := `Failed to mask unit: File /etc/systemd/system/cri-docker.socket already exists.
rc=1
rc=1 active
unit file kept
Created symlink /etc/systemd/system/docker.socket → /dev/null.
rc=0
`
	if out != want {
		t.Errorf("mask session:\n%s\nwant:\n%s", out, want)
	}
}

// A unit whose ConditionPathExists= does not hold is skipped: the start
// succeeds and the unit stays inactive, at boot too.
func TestUnmetConditionSkipsTheUnit(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	out := simtest.Console(t, root, `systemctl stop kubelet cri-docker.socket cri-docker docker.socket docker
		mkdir -p /etc/systemd/system/docker.service.d
		printf '[Unit]\nConditionPathExists=!/etc/systemd/system/docker.service.d/hold.conf\n' >/etc/systemd/system/docker.service.d/hold.conf
		systemctl daemon-reload
		systemctl start docker; echo "rc=$? $(systemctl is-active docker)"
		journalctl -u docker -n 1
		rm /etc/systemd/system/docker.service.d/hold.conf
		systemctl daemon-reload
		systemctl start docker; echo "rc=$? $(systemctl is-active docker)"`)
	want := `rc=0 inactive
docker.service was skipped because of an unmet condition check (ConditionPathExists=!/etc/systemd/system/docker.service.d/hold.conf).
rc=0 active
`
	if out != want {
		t.Errorf("condition session:\n%s\nwant:\n%s", out, want)
	}
}

// systemctl reboot stops every running unit at once, transient ones
// included: a job that asks for a reboot is killed right there, and what it
// writes after asking is lost.
func TestRebootStopsTheUnitThatAskedForIt(t *testing.T) {
	root := simtest.Root(t, "rocky9", "node-1")
	h := host.New(root)
	boot := h.BootID()
	simtest.Sh(t, root, `systemd-run --unit crimig-r1-swap --collect /bin/sh -c \
		'echo before >/var/tmp/job.out; systemctl reboot; echo "after rc=$?" >>/var/tmp/job.out' 2>/dev/null`)
	simtest.Eventually(t, 15*time.Second, "the reboot", func() bool {
		return h.BootID() != boot && h.BootID() != "" && !h.Rebooting()
	})
	if got, _ := os.ReadFile(filepath.Join(root, "var/tmp/job.out")); string(got) != "before\n" {
		t.Errorf("the job wrote %q; it must die when it asks for the reboot", got)
	}
	if a := h.State("crimig-r1-swap.service"); a != "inactive" {
		t.Errorf("the job's unit is %s after the reboot", a)
	}
}
