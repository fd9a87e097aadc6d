package hostconf

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

type translateCase struct {
	name     string
	dir      string // input directory when shared with another case
	version  string
	target   Target
	tversion string
	certs    []CertDir
	opts     Options
}

var translateCases = []translateCase{
	{name: "seed-centos7-1.23", version: "v1.23.3", target: TargetCRIO, tversion: "1.22.3",
		certs: []CertDir{{Host: "harbor.example.com", Files: []string{"ca.crt"}}}},
	// The seed's own outcome: the operator switched the node to systemd.
	{name: "seed-centos7-1.23-systemd", dir: "seed-centos7-1.23", version: "v1.23.3", target: TargetCRIO,
		tversion: "1.22.3", opts: Options{CgroupDriver: "systemd"}},
	{name: "seed-sysconfig-quoted", version: "v1.23.3", target: TargetCRIO, tversion: "1.22.3",
		opts: Options{ConmonPath: "/usr/bin/conmon"}},
	{name: "rocky9-1.29-nvidia", version: "v1.29.4", target: TargetCRIO, tversion: "1.29.1",
		opts: Options{DataRootCheckOK: true, CgroupV2: true}},
	{name: "rocky9-1.29-nvidia-containerd2", dir: "rocky9-1.29-nvidia", version: "v1.29.4",
		target: TargetContainerd, tversion: "2.0.5", opts: Options{DataRootCheckOK: true}},
	{name: "ubuntu22-1.33-containerd1.7", version: "v1.33.1", target: TargetContainerd, tversion: "1.7.24",
		certs: []CertDir{
			{Host: "/etc/docker/certs.d/registry.internal:5000", Files: []string{"ca.crt", "client.cert", "client.key"}},
			{Host: "mirror.gcr.example.org"},
		}},
	{name: "kubelet-1.25-containerd2", version: "1.25.16", target: TargetContainerd, tversion: "2.1.4",
		opts: Options{PauseImage: "registry.example.com/pause:3.8"}},
	{name: "kubelet-1.37-losses", version: "v1.37.2", target: TargetCRIO, tversion: "1.36.0"},
	// The real node of issue 15: docker 20.10 with a wrapper runtime as its
	// default, cri-dockerd, kubelet 1.37, CRI-O 1.36 from the bundle.
	{name: "debian12-1.37-cri-dockerd", version: "v1.37.2", target: TargetCRIO, tversion: "1.36.3",
		opts: Options{PauseImage: "registry.lab.example:5000/pause:3.10.1", PauseImageFrom: "cri-docker.service's --pod-infra-container-image"}},
	{name: "kubelet-1.34-instance-config", version: "v1.34.0", target: TargetCRIO, tversion: "1.34.2",
		opts: Options{CgroupV2: true}},
}

// flagsFileNames maps testdata names to the host paths they stand for.
var flagsFileNames = map[string]string{
	"kubeadm-flags.env": KubeadmFlagsEnv,
	"sysconfig-kubelet": SysconfigKubelet,
	"default-kubelet":   DefaultKubelet,
}

func (c translateCase) input(t *testing.T) Input {
	dir := c.name
	if c.dir != "" {
		dir = c.dir
	}
	in := Input{
		DaemonJSON:     readTestdata(t, "translate", dir, "daemon.json"),
		KubeletConfig:  readTestdata(t, "translate", dir, "config.yaml"),
		KubeletVersion: c.version, Target: c.target, TargetVersion: c.tversion,
		CertDirs: c.certs, Options: c.opts,
		FlagsFiles: map[string][]byte{}, Existing: map[string][]byte{},
	}
	for name, p := range flagsFileNames {
		if b := readOptional(t, "translate", dir, name); b != nil {
			in.FlagsFiles[p] = b
		}
	}
	if b := readOptional(t, "translate", dir, "instance-config.yaml"); b != nil {
		in.Existing[InstanceConfigPath] = b
	}
	return in
}

func TestTranslateGolden(t *testing.T) {
	for _, c := range translateCases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Translate(c.input(t))
			if err != nil {
				t.Fatal(err)
			}
			checkOutputParses(t, out)
			golden(t, "translate/"+c.name+"/golden.txt", []byte(renderOutput(out)))
		})
	}
}

// TestEveryChangeHasAReason: an operator reviews the plan without knowing
// crimig, so every file it writes, and every setting or flag it adds,
// changes or removes there, says why (issue 15: runtimeRequestTimeout went
// from 0s to 5m and instance-config.yaml appeared with no reason given).
func TestEveryChangeHasAReason(t *testing.T) {
	for _, c := range translateCases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Translate(c.input(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range out.Files {
				if strings.TrimSpace(f.Reason) == "" {
					t.Errorf("%s: no reason", f.Path)
				}
				if f.Changed() && len(f.Edits) == 0 {
					t.Errorf("%s changes, but lists no edit", f.Path)
				}
				for _, e := range f.Edits {
					if strings.TrimSpace(e.Reason) == "" || e.Key == "" || e.Before == e.After {
						t.Errorf("%s: edit %+v: want a key, a change and a reason", f.Path, e)
					}
				}
			}
		})
	}
}

// TestIssue15Reasons pins the reasons the operator asked for on the
// kubelet 1.37 cri-dockerd node.
func TestIssue15Reasons(t *testing.T) {
	c := translateCases[slicesIndex(t, "debian12-1.37-cri-dockerd")]
	out, err := Translate(c.input(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		KubeletConfigPath + " runtimeRequestTimeout":      {"0s", "5m", "the kubelet's default (2m"},
		KubeletConfigPath + " containerLogMaxSize":        {"", "50Mi", "daemon.json log-opts max-size"},
		KubeletConfigPath + " containerRuntimeEndpoint":   {"", CrioEndpoint, "new runtime's CRI socket"},
		InstanceConfigPath + " containerRuntimeEndpoint":  {"", CrioEndpoint, "CRI socket"},
		KubeadmFlagsEnv + " --container-runtime-endpoint": {"unix:///var/run/cri-dockerd.sock", "", "config.yaml's containerRuntimeEndpoint"},
		CrioDropIn + " crio.runtime.cgroup_manager":       {"", "cgroupfs", "must match the kubelet's cgroupDriver"},
		CrioDropIn + " crio.image.pause_image":            {"", "registry.lab.example:5000/pause:3.10.1", "cri-docker.service's --pod-infra-container-image"},
		CrioServiceDropIn + " Service.KillMode":           {"", "process", "would kill every pod"},
	}
	got := map[string]Edit{}
	for _, f := range out.Files {
		for _, e := range f.Edits {
			got[f.Path+" "+e.Key] = e
		}
	}
	for k, w := range want {
		e, ok := got[k]
		if !ok || e.Before != w[0] || e.After != w[1] || !strings.Contains(e.Reason, w[2]) {
			t.Errorf("%s: got %+v, want %q -> %q because of %q", k, e, w[0], w[1], w[2])
		}
	}
	for _, f := range out.Files {
		if f.Path == InstanceConfigPath && !strings.Contains(f.Reason, "NodeLocalCRISocket") {
			t.Errorf("instance-config.yaml reason %q does not say why kubeadm needs it", f.Reason)
		}
	}
}

func slicesIndex(t *testing.T, name string) int {
	for i, c := range translateCases {
		if c.name == name {
			return i
		}
	}
	t.Fatalf("no translate case %s", name)
	return -1
}

func TestTranslateDeterministic(t *testing.T) {
	for _, c := range translateCases {
		a, errA := Translate(c.input(t))
		b, errB := Translate(c.input(t))
		if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs differ (errors %v, %v)", c.name, errA, errB)
		}
	}
}

// checkOutputParses holds every produced file to the parser that will read
// it on the node: TOML for runtime configuration, strict
// KubeletConfiguration decoding for kubelet YAML.
func checkOutputParses(t *testing.T, out Output) {
	t.Helper()
	for _, f := range out.Files {
		switch {
		case strings.HasSuffix(f.Path, ".toml") || strings.HasPrefix(f.Path, "/etc/crio/") ||
			strings.HasPrefix(f.Path, "/etc/containers/"):
			var v map[string]any
			if _, err := toml.Decode(string(f.Content), &v); err != nil {
				t.Errorf("%s is not valid TOML: %v\n%s", f.Path, err, f.Content)
			}
		case strings.HasSuffix(f.Path, ".yaml"):
			if _, err := decodeKubeletConfig(f.Content); err != nil {
				t.Errorf("%s does not strict-decode: %v", f.Path, err)
			}
		}
	}
}

func renderOutput(o Output) string {
	var b strings.Builder
	fmt.Fprintf(&b, "endpoint: %s\ncriSocket: %s\nnodeLocalCRISocket: %t\ncgroupDriver: %s\npauseImage: %s\n",
		o.RuntimeEndpoint, o.CRISocket, o.NodeLocalCRISocket, o.CgroupDriver, o.PauseImage)
	fmt.Fprintf(&b, "endpointFlagsFile: %s\n", o.EndpointFlagsFile)
	if o.KubeletLogMax != nil {
		fmt.Fprintf(&b, "kubeletLogMax: %s x %d\n", o.KubeletLogMax.MaxSize, o.KubeletLogMax.MaxFiles)
	}
	for _, r := range o.RemovedFlags {
		fmt.Fprintf(&b, "removed: %s\n", r)
	}
	for _, c := range o.Copies {
		fmt.Fprintf(&b, "copy: %s -> %s\n", c.From, c.To)
	}
	for _, l := range o.Losses {
		fmt.Fprintf(&b, "loss: [%s] %s=%q: %s | %s\n", l.Severity, l.Key, l.Value, l.Reason, l.Remedy)
	}
	for _, f := range o.Files {
		state := "changed"
		switch {
		case f.Before == nil:
			state = "new"
		case !f.Changed():
			state = "unchanged"
		}
		fmt.Fprintf(&b, "\n=== %s (%s, %04o)\nreason: %s\n", f.Path, state, f.Mode, f.Reason)
		for _, e := range f.Edits {
			fmt.Fprintf(&b, "edit: %s %q -> %q: %s\n", e.Key, e.Before, e.After, e.Reason)
		}
		fmt.Fprintf(&b, "--- content\n%s", f.Content)
		if f.Diff != "" {
			fmt.Fprintf(&b, "--- diff\n%s", f.Diff)
		}
	}
	return b.String()
}
