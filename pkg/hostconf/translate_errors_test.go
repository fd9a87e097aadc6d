package hostconf

import (
	"strings"
	"testing"
)

func baseInput() Input {
	return Input{
		DaemonJSON:     []byte(`{"data-root": "/data/docker", "log-opts": {"max-size": "100m"}}`),
		FlagsFiles:     map[string][]byte{KubeadmFlagsEnv: []byte(`KUBELET_KUBEADM_ARGS="--network-plugin=cni"` + "\n")},
		KubeletConfig:  []byte(minimalConfig),
		KubeletVersion: "v1.23.3",
		Target:         TargetCRIO,
	}
}

func TestTranslateErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Input)
		want   string
	}{
		{"bad target", func(in *Input) { in.Target = "docker" }, "unknown target runtime"},
		{"bad version", func(in *Input) { in.KubeletVersion = "latest" }, "kubelet version"},
		{"malformed daemon.json", func(in *Input) { in.DaemonJSON = []byte("{\n\"a\": }") }, "daemon.json: line 2"},
		{"malformed config.yaml", func(in *Input) { in.KubeletConfig = []byte("kind: [") }, KubeletConfigPath},
		{"missing config.yaml", func(in *Input) { in.KubeletConfig = nil }, KubeletConfigPath},
		{"malformed flags", func(in *Input) {
			in.FlagsFiles[KubeadmFlagsEnv] = []byte(`KUBELET_KUBEADM_ARGS="--a='b"`)
		}, "unterminated"},
		{"bad cgroup driver", func(in *Input) { in.Options.CgroupDriver = "cgroupv2" }, "cgroup driver"},
		{"bad max-size", func(in *Input) { in.DaemonJSON = []byte(`{"log-opts": {"max-size": "big"}}`) }, "max-size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			tt.mutate(&in)
			_, err := Translate(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestTranslateDataRootAndExisting(t *testing.T) {
	in := baseInput()
	out, err := Translate(in)
	if err != nil {
		t.Fatal(err)
	}
	if !hasLoss(out.Losses, "data-root") {
		t.Errorf("data-root without a passing check must be a loss: %+v", out.Losses)
	}
	in.Options.DataRootCheckOK = true
	in.Existing = map[string][]byte{CrioDropIn: out.Files[0].Content, RegistriesDropIn: nil}
	out2, err := Translate(in)
	if err != nil {
		t.Fatal(err)
	}
	if hasLoss(out2.Losses, "data-root") || !strings.Contains(string(out2.Files[0].Content), `root = "/data/containers/storage"`) {
		t.Errorf("data-root check passed: want crio root and no loss\n%s", out2.Files[0].Content)
	}
	if !strings.Contains(out2.Files[0].Diff, "+root = ") || out2.Files[0].Before == nil {
		t.Errorf("existing drop-in must be diffed against:\n%s", out2.Files[0].Diff)
	}
	if f := out2.Files[1]; f.Path != RegistriesDropIn || f.Before == nil || len(f.Before) != 0 {
		t.Errorf("an existing empty file must have a non-nil Before: %+v", f)
	}
}

func TestTranslateCgroupDriverPrecedence(t *testing.T) {
	tests := []struct {
		name, daemon, flags, config string
		opts                        Options
		want                        string
	}{
		{"docker default v1", `{}`, ``, ``, Options{}, "cgroupfs"},
		{"docker default v2", `{}`, ``, ``, Options{CgroupV2: true}, "systemd"},
		{"config.yaml", `{}`, ``, "cgroupDriver: systemd\n", Options{}, "systemd"},
		{"flag beats config", `{}`, `--cgroup-driver=cgroupfs`, "cgroupDriver: systemd\n", Options{}, "cgroupfs"},
		{"exec-opts beat flag", `{"exec-opts":["native.cgroupdriver=systemd"]}`, `--cgroup-driver=cgroupfs`, ``, Options{}, "systemd"},
		{"option beats all", `{"exec-opts":["native.cgroupdriver=cgroupfs"]}`, ``, ``, Options{CgroupDriver: "systemd"}, "systemd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.DaemonJSON = []byte(tt.daemon)
			in.FlagsFiles[KubeadmFlagsEnv] = []byte(`KUBELET_KUBEADM_ARGS="` + tt.flags + `"`)
			in.KubeletConfig = []byte(minimalConfig + tt.config)
			in.Options = tt.opts
			out, err := Translate(in)
			if err != nil {
				t.Fatal(err)
			}
			killMode := false
			for _, f := range out.Files {
				killMode = killMode || f.Path == CrioServiceDropIn
			}
			if out.CgroupDriver != tt.want || killMode != (tt.want == "cgroupfs") {
				t.Errorf("driver %q (KillMode drop-in %t), want %q", out.CgroupDriver, killMode, tt.want)
			}
		})
	}
}

func hasLoss(ls []Loss, key string) bool {
	for _, l := range ls {
		if l.Key == key {
			return true
		}
	}
	return false
}

func BenchmarkTranslate(b *testing.B) {
	in := Input{
		DaemonJSON: []byte(`{"exec-opts": ["native.cgroupdriver=systemd"],
			"registry-mirrors": ["https://m1.example.com", "http://10.0.0.5:5000"],
			"insecure-registries": ["harbor.example.com", "10.0.0.0/8"],
			"log-opts": {"max-size": "100m", "max-file": "3"}, "data-root": "/data/docker",
			"default-ulimits": {"nofile": {"Name": "nofile", "Soft": 65536, "Hard": 65536}}}`),
		FlagsFiles: map[string][]byte{
			KubeadmFlagsEnv:  []byte(`KUBELET_KUBEADM_ARGS="--network-plugin=cni --pod-infra-container-image=k8s.gcr.io/pause:3.6"` + "\n"),
			SysconfigKubelet: []byte("KUBELET_EXTRA_ARGS=--max-pods=200\n"),
		},
		KubeletConfig:  []byte(minimalConfig + "cgroupDriver: systemd\nclusterDomain: cluster.local\nmaxPods: 110\n"),
		KubeletVersion: "v1.23.3", Target: TargetCRIO,
		CertDirs: []CertDir{{Host: "harbor.example.com", Files: []string{"ca.crt"}}},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Translate(in); err != nil {
			b.Fatal(err)
		}
	}
}
