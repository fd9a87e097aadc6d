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
	{name: "debian12-1.37-cri-dockerd", version: "v1.37.2", target: TargetCRIO, tversion: "1.36.3"},
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
		fmt.Fprintf(&b, "\n=== %s (%s, %04o)\n%s", f.Path, state, f.Mode, f.Content)
		if f.Diff != "" {
			fmt.Fprintf(&b, "--- diff\n%s", f.Diff)
		}
	}
	return b.String()
}
