package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

func TestKubeletRemovedFlags(t *testing.T) {
	t.Run("1.23 accepts --network-plugin", func(t *testing.T) {
		root := simtest.Root(t, "centos7", "node-1")
		flags := simtest.Sh(t, root, "cat /var/lib/kubelet/kubeadm-flags.env")
		if !strings.Contains(flags, "--network-plugin=cni") {
			t.Fatalf("fixture lost its dockershim flags: %s", flags)
		}
		out := simtest.Sh(t, root, "systemctl restart kubelet && systemctl is-active kubelet")
		if out != "active\n" {
			t.Errorf("kubelet 1.23 with --network-plugin: %q", out)
		}
	})
	t.Run("1.29 refuses --network-plugin", func(t *testing.T) {
		root := simtest.Root(t, "rocky9", "node-1")
		out, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
			`echo 'KUBELET_EXTRA_ARGS="--network-plugin=cni"' > /etc/sysconfig/kubelet; systemctl restart kubelet && systemctl is-active --quiet kubelet`)
		if code == 0 {
			t.Fatalf("kubelet 1.29 started with --network-plugin: %s %s", out, errOut)
		}
		assertFailed(t, root, "kubelet", "unknown flag: --network-plugin")
	})
	t.Run("1.29 refuses --container-runtime=docker", func(t *testing.T) {
		root := simtest.Root(t, "rocky9", "node-1")
		_, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
			`echo 'KUBELET_EXTRA_ARGS="--container-runtime=docker"' > /etc/sysconfig/kubelet; systemctl restart kubelet && systemctl is-active --quiet kubelet`)
		if code == 0 {
			t.Fatal("kubelet 1.29 started with --container-runtime=docker")
		}
		assertFailed(t, root, "kubelet", "unknown flag: --container-runtime")
	})
}

func TestKubeletCrashLoopsUntilItsConfigIsFixed(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	writeFile(t, root, "/etc/systemd/system/kubelet.service.d/30-fast-restart.conf", "[Service]\nRestartSec=200ms\n")
	writeFile(t, root, "/etc/default/kubelet", "KUBELET_EXTRA_ARGS=\"--network-plugin=cni\"\n")
	out := simtest.Sh(t, root, "systemctl daemon-reload && systemctl restart kubelet && echo started; systemctl is-active kubelet || true")
	if out != "started\nactivating\n" {
		t.Fatalf("a kubelet with a removed flag: %q, want it started and then crash-looping", out)
	}
	writeFile(t, root, "/etc/default/kubelet", "KUBELET_EXTRA_ARGS=\n")
	h := host.New(root)
	simtest.Eventually(t, 5*time.Second, "systemd to restart the fixed kubelet", func() bool {
		h.Settle()
		return h.IsActive("kubelet.service")
	})
	if !strings.Contains(simtest.Sh(t, root, "journalctl -u kubelet"), "Scheduled restart job, restart counter is at 1.") {
		t.Error("no restart in the kubelet's journal")
	}
}

func TestKubeletConfigStrictDecoding(t *testing.T) {
	t.Run("unknown field", func(t *testing.T) {
		root := simtest.Root(t, "ubuntu22", "node-1")
		_, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
			`echo 'containerLogMaxSizee: 100Mi' >> /var/lib/kubelet/config.yaml; systemctl restart kubelet && systemctl is-active --quiet kubelet`)
		if code == 0 {
			t.Fatal("kubelet accepted an unknown config field")
		}
		assertFailed(t, root, "kubelet", `unknown field "containerLogMaxSizee"`)
	})
	t.Run("field newer than the kubelet", func(t *testing.T) {
		root := simtest.Root(t, "centos7", "node-1")
		_, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
			`echo 'containerRuntimeEndpoint: unix:///var/run/crio/crio.sock' >> /var/lib/kubelet/config.yaml; systemctl restart kubelet && systemctl is-active --quiet kubelet`)
		if code == 0 {
			t.Fatal("kubelet 1.23 accepted containerRuntimeEndpoint in config.yaml")
		}
		assertFailed(t, root, "kubelet", "containerRuntimeEndpoint")
	})
}

func TestKubeletCgroupDriverMustMatchDocker(t *testing.T) {
	root := simtest.Root(t, "centos7", "node-1") // docker and kubelet on cgroupfs
	_, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c",
		"sed -i 's/^cgroupDriver: cgroupfs/cgroupDriver: systemd/' /var/lib/kubelet/config.yaml && systemctl restart kubelet && systemctl is-active --quiet kubelet")
	if code == 0 {
		t.Fatal("kubelet 1.23 started with a cgroup driver that differs from docker's")
	}
	assertFailed(t, root, "kubelet", "is different from docker cgroup driver")
}

func TestDropInsNeedDaemonReload(t *testing.T) {
	root := simtest.Root(t, "ubuntu22", "node-1")
	writeFile(t, root, "/etc/systemd/system/kubelet.service.d/20-extra.conf",
		"[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS --network-plugin=cni\n")
	_, errOut, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "systemctl restart kubelet")
	if code != 0 || !strings.Contains(errOut, "Run 'systemctl daemon-reload'") {
		t.Fatalf("an unloaded drop-in applied, or no warning: exit %d %q", code, errOut)
	}
	if _, _, code := simtest.Exec(t, root, "", "/bin/sh", "-c", "systemctl daemon-reload && systemctl restart kubelet && systemctl is-active --quiet kubelet"); code == 0 {
		t.Fatal("after daemon-reload, kubelet 1.33 accepted --network-plugin from the drop-in")
	}
	assertFailed(t, root, "kubelet", "unknown flag: --network-plugin")
}
