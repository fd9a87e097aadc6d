package hostscripts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

// Credentials that sit in the fixture and must never reach the output.
var secrets = []string{"c2VjcmV0LXRva2Vu", "hunter2", "s3cr3t-identity-token", "secret key material"}

func factsRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	stub := func(out string) string { return "#!/bin/sh\nprintf '%s\\n' '" + out + "'\n" }
	files := map[string]string{
		"etc/os-release": "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n",
		"etc/docker/daemon.json": "{\n  \"exec-opts\": [\"native.cgroupdriver=systemd\"],\n" +
			"  \"registry-mirrors\": [\"https://mirror.example.com\"],\n  \"note\": \"tab\\there \\\"q\\\" back\\\\slash\",\n" +
			"  \"runtimes\": {\"nvidia\": {\"path\": \"/usr/bin/nvidia-container-runtime\"}, \"kata\": {\"path\": \"/usr/bin/dnf\"}}\n}\n",
		"root/.docker/config.json": `{"auths":{"registry.example.com":{"auth":"c2VjcmV0LXRva2Vu"},` +
			`"https://index.docker.io/v1/":{"auth":"aHVudGVyMg==","identitytoken":"s3cr3t-identity-token"}},` +
			`"credHelpers":{"123.dkr.ecr.us-east-1.amazonaws.com":"ecr-login"},"HttpHeaders":{"X-Key":"hunter2"}}`,
		"proc/1/comm":    "systemd\n",
		"proc/1/cmdline": "/sbin/init\x00",
		"proc/4242/comm": "kubelet\n",
		"proc/4242/cmdline": "/usr/bin/kubelet\x00--config=/var/lib/kubelet/config.yaml\x00" +
			"--container-runtime-endpoint=unix:///run/cri-dockerd.sock\x00--pod-infra-container-image=registry.k8s.io/pause:3.9\x00",
		"proc/modules":                                            "overlay 151552 0 - Live 0x0\nnf_nat 49152 1 - Live 0x0\n",
		"proc/sys/net/ipv4/ip_forward":                            "1\n",
		"proc/mounts":                                             "/dev/sda1 / xfs rw 0 0\n/dev/sdb1 /var/lib/docker xfs rw 0 0\n",
		"sys/fs/cgroup/cgroup.controllers":                        "cpu memory pids\n",
		"var/lib/kubelet/kubeadm-flags.env":                       "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///run/cri-dockerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9\"\n",
		"etc/sysconfig/kubelet":                                   "KUBELET_EXTRA_ARGS=",
		"var/lib/kubelet/config.yaml":                             "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n",
		"etc/cron.d/prune":                                        "# docker system prune is below\nSHELL=/bin/sh\n0 3 * * * root /usr/bin/docker system prune -af\n",
		"usr/local/bin/push.sh":                                   "#!/bin/sh\nset -e\ndocker login -u ci -p hunter2 registry.example.com\necho dockerized\n",
		"etc/systemd/system/docker.service":                       "[Service]\nExecStart=/usr/bin/dockerd\n",
		"etc/systemd/system/monitor.service":                      "[Service]\nExecStart=/usr/bin/docker run --rm monitor\n",
		"run/systemd/system/.keep":                                "",
		"etc/docker/certs.d/harbor.corp.example:5443/ca.crt":      "-----BEGIN CERTIFICATE-----\nnot really\n",
		"etc/docker/certs.d/harbor.corp.example:5443/client.cert": "cert",
		"etc/docker/certs.d/harbor.corp.example:5443/client.key":  "secret key material",
		"etc/docker/certs.d/empty.example/.keep":                  "",
		"var/lib/.keep":                                           "",
		"data/docker/image/overlay2/repositories.json":            "{}",
	}
	exes := map[string]string{
		"usr/bin/dnf": stub("4.14.0"),
		"usr/bin/yum": stub("4.14.0"),
		"usr/bin/docker": "#!/bin/sh\ncase \"$1\" in\nversion) echo 24.0.7 ;;\n" +
			"info) case \"$3\" in *DockerRootDir*) echo /data/docker ;; *) echo systemd ;; esac ;;\n" +
			"*) echo 'Docker version 24.0.7, build afdd53b' ;;\nesac\n",
		"usr/bin/systemctl":   stub("active"),
		"usr/bin/cri-dockerd": stub("cri-dockerd 0.3.9 (a1b2c3d)"),
		"usr/bin/runc":        stub("runc version 1.1.12"),
		"usr/bin/crun":        stub("crun version 1.8.5"),
	}
	write := func(name, content string, mode os.FileMode) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		write(name, content, 0o644)
	}
	for name, content := range exes {
		write(name, content, 0o755)
	}
	return root
}

func TestFactsFromHostTree(t *testing.T) {
	root := factsRoot(t)
	for name, sh := range shells(t) {
		t.Run(name, func(t *testing.T) {
			out, err := withEnv(sh("-c", Get(Facts)), "CRIMIG_HOST_PREFIX="+root).Output()
			if err != nil {
				t.Fatalf("facts.sh failed: %v\n%s", err, out)
			}
			for _, s := range secrets {
				if strings.Contains(string(out), s) {
					t.Errorf("facts output leaks the credential %q:\n%s", s, out)
				}
			}
			f, err := ParseFacts(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			checkFacts(t, root, f)
		})
	}
}

func checkFacts(t *testing.T, root string, f *HostFacts) {
	t.Helper()
	daemon, _ := os.ReadFile(filepath.Join(root, "etc/docker/daemon.json"))
	config, _ := os.ReadFile(filepath.Join(root, "var/lib/kubelet/config.yaml"))
	flags, _ := os.ReadFile(filepath.Join(root, "var/lib/kubelet/kubeadm-flags.env"))
	ipForward := "1"
	want := HostFacts{
		OS:             OSRelease{ID: "rocky", VersionID: "9.3", PrettyName: "Rocky Linux 9.3 (Blue Onyx)"},
		PackageManager: "dnf",
		Systemd:        true,
		Docker: DockerFacts{
			Installed: true, Version: "24.0.7", Active: "active", CgroupDriver: "systemd",
			DaemonJSON:            ptr(string(daemon)),
			Registries:            []string{"123.dkr.ecr.us-east-1.amazonaws.com", "https://index.docker.io/v1/", "registry.example.com"},
			DataRootSeparateMount: true,
			MissingRuntimePaths:   []string{"/usr/bin/nvidia-container-runtime"},
			CertDirs: []hostconf.CertDir{{Host: "empty.example", Files: []string{}},
				{Host: "harbor.corp.example:5443", Files: []string{"ca.crt", "client.cert", "client.key"}}},
			RootDir: "/data/docker", RootDirExists: true, SiblingStorage: "absent",
		},
		Kubelet: KubeletFacts{
			Cmdline: []string{"/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml",
				"--container-runtime-endpoint=unix:///run/cri-dockerd.sock", "--pod-infra-container-image=registry.k8s.io/pause:3.9"},
			CmdlineSource: "/proc/4242/cmdline",
			FlagsFiles: map[string]string{
				"/var/lib/kubelet/kubeadm-flags.env": string(flags),
				"/etc/sysconfig/kubelet":             "KUBELET_EXTRA_ARGS=",
			},
			ConfigYAML: ptr(string(config)),
		},
		Cgroup: CgroupFacts{Version: 2, KubeletDriver: "systemd"},
		Kernel: KernelFacts{
			Modules: map[string]bool{"overlay": true, "br_netfilter": false},
			Sysctls: map[string]*string{"net.ipv4.ip_forward": &ipForward, "net.bridge.bridge-nf-call-iptables": nil},
		},
		Disk: DiskFacts{VarLibDockerSeparateMount: true},
		DockerCallers: []FileLine{
			{Path: "/etc/cron.d/prune", Line: 3},
			{Path: "/etc/systemd/system/monitor.service", Line: 2},
			{Path: "/usr/local/bin/push.sh", Line: 3},
		},
		Runtimes: RuntimeFacts{
			Crun:       Binary{Installed: true, Path: "/usr/bin/crun", Version: "1.8.5"},
			Runc:       Binary{Installed: true, Path: "/usr/bin/runc", Version: "1.1.12"},
			CriDockerd: Binary{Installed: true, Path: "/usr/bin/cri-dockerd", Version: "0.3.9"},
		},
	}
	if f.Disk.VarLibFreeBytes == nil || *f.Disk.VarLibFreeBytes <= 0 {
		t.Errorf("varLibFreeBytes = %v, want a positive number", f.Disk.VarLibFreeBytes)
	}
	f.Disk.VarLibFreeBytes = nil
	if diff := cmp.Diff(want, *f); diff != "" {
		t.Errorf("facts mismatch (-want +got):\n%s", diff)
	}
}

// TestFactsSiblingStorage: what <parent of data-root>/containers/storage
// holds decides whether CRI-O's storage may go there.
func TestFactsSiblingStorage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string // under data/containers/storage; nil: no directory
		want  string
	}{
		{"absent", nil, "absent"},
		{"empty", map[string]string{}, "empty"},
		{"an earlier CRI-O store", map[string]string{"storage.lock": "", "overlay-images/images.json": "[]"}, "containers-storage"},
		{"someone's data", map[string]string{"backup.tar": "x"}, "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := factsRoot(t)
			if tc.files != nil {
				dir := filepath.Join(root, "data/containers/storage")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				writeFiles(t, dir, tc.files, 0o644)
			}
			for name, f := range factsUnder(t, root) {
				if f.Docker.SiblingStorage != tc.want || f.Docker.RootDir != "/data/docker" {
					t.Errorf("%s: rootDir %q, siblingStorage %q; want /data/docker, %q", name, f.Docker.RootDir, f.Docker.SiblingStorage, tc.want)
				}
			}
		})
	}
}

func TestFactsOnAnEmptyHost(t *testing.T) {
	root := t.TempDir()
	for name, sh := range shells(t) {
		t.Run(name, func(t *testing.T) {
			out, err := withEnv(sh("-c", Get(Facts)), "CRIMIG_HOST_PREFIX="+root).Output()
			if err != nil {
				t.Fatalf("facts.sh failed: %v\n%s", err, out)
			}
			f, err := ParseFacts(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if f.Docker.Installed || f.Docker.DaemonJSON != nil || f.Kubelet.Cmdline != nil || f.Systemd {
				t.Errorf("an empty host reported facts: %s", out)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// writeFiles writes each file, by its path under dir, with mode.
func writeFiles(t *testing.T, dir string, files map[string]string, mode os.FileMode) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// factsUnder runs facts.sh under every shell with root as the host, and
// returns the parsed facts by shell.
func factsUnder(t *testing.T, root string) map[string]*HostFacts {
	t.Helper()
	got := map[string]*HostFacts{}
	for name, sh := range shells(t) {
		out, err := withEnv(sh("-c", Get(Facts)), "CRIMIG_HOST_PREFIX="+root).Output()
		if err != nil {
			t.Fatalf("%s: facts.sh failed: %v\n%s", name, err, out)
		}
		f, err := ParseFacts(out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		got[name] = f
	}
	return got
}

// CRI-O's packages and bundle keep conmon, crun and runc in
// /usr/libexec/crio; an installed CRI-O uses those before $PATH's.
func TestFactsCrioHelpersInLibexec(t *testing.T) {
	root := factsRoot(t)
	writeFiles(t, filepath.Join(root, "usr/libexec/crio"), map[string]string{
		"conmon": "#!/bin/sh\necho 'conmon version 2.2.1'\n",
		"crun":   "#!/bin/sh\necho 'crun version 1.26'\n",
		"runc":   "#!/bin/sh\necho 'runc version 1.4.2'\n",
	}, 0o755)
	for name, f := range factsUnder(t, root) {
		want := RuntimeFacts{
			Crun:       Binary{Installed: true, Path: "/usr/libexec/crio/crun", Version: "1.26"},
			Runc:       Binary{Installed: true, Path: "/usr/libexec/crio/runc", Version: "1.4.2"},
			Conmon:     Binary{Installed: true, Path: "/usr/libexec/crio/conmon", Version: "2.2.1"},
			CriDockerd: Binary{Installed: true, Path: "/usr/bin/cri-dockerd", Version: "0.3.9"},
		}
		if diff := cmp.Diff(want, f.Runtimes); diff != "" {
			t.Errorf("%s: runtimes (-want +got):\n%s", name, diff)
		}
	}
}

// On a cri-dockerd node the pause image is cri-dockerd's flag, in its unit
// wherever cri-dockerd's instructions or a package put it (issue 15, item 5).
func TestFactsCriDockerdPauseImage(t *testing.T) {
	const unit = "[Unit]\nDescription=CRI Interface for Docker Application Container Engine\nRequires=cri-docker.socket\n\n[Service]\nType=notify\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"ExecStart in /etc/systemd/system", map[string]string{"etc/systemd/system/cri-docker.service": unit +
			"ExecStart=/usr/local/bin/cri-dockerd --container-runtime-endpoint fd:// --pod-infra-container-image=registry.lab.example:5000/pause:3.10\n"},
			"registry.lab.example:5000/pause:3.10"},
		{"a drop-in replaces ExecStart, the value from an EnvironmentFile", map[string]string{
			"lib/systemd/system/cri-docker.service": unit + "ExecStart=/usr/bin/cri-dockerd --container-runtime-endpoint fd://\n",
			"etc/systemd/system/cri-docker.service.d/10-pause.conf": "[Service]\nEnvironmentFile=-/etc/default/cri-dockerd\n" +
				"ExecStart=\nExecStart=/usr/bin/cri-dockerd --container-runtime-endpoint fd:// \\\n  --pod-infra-container-image ${PAUSE_IMAGE}\n",
			"etc/default/cri-dockerd": "# pause image of the local registry\nPAUSE_IMAGE=\"harbor.corp.example/k8s/pause:3.9\"\n"},
			"harbor.corp.example/k8s/pause:3.9"},
		{"flags in an Environment= variable", map[string]string{"usr/lib/systemd/system/cri-docker.service": unit +
			"Environment=\"CRI_DOCKERD_OPTS=--pod-infra-container-image=mirror.corp.example/pause:3.8\"\nExecStart=/usr/bin/cri-dockerd $CRI_DOCKERD_OPTS\n"},
			"mirror.corp.example/pause:3.8"},
		{"no flag", map[string]string{"etc/systemd/system/cri-docker.service": unit + "ExecStart=/usr/bin/cri-dockerd --container-runtime-endpoint fd://\n"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := factsRoot(t)
			writeFiles(t, root, tc.files, 0o644)
			for name, f := range factsUnder(t, root) {
				if f.Docker.CriDockerdPauseImage != tc.want {
					t.Errorf("%s: criDockerdPauseImage %q, want %q", name, f.Docker.CriDockerdPauseImage, tc.want)
				}
			}
		})
	}
}
