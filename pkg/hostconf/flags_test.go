package hostconf

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// flagList parses a kubelet argument string into name/value pairs, in order,
// as the kubeadm-flags.env edit sees them.
func flagList(s string) ([][2]string, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, f := range parseFlags(toks) {
		out = append(out, [2]string{f.Name, f.Value})
	}
	return out, nil
}

func TestFlagList(t *testing.T) {
	tests := []struct {
		in   string
		want [][2]string
	}{
		{`--a=b --c d`, [][2]string{{"a", "b"}, {"c", "d"}}},
		{`--container-runtime-endpoint='unix:///var/run/crio/crio.sock'`,
			[][2]string{{"container-runtime-endpoint", "unix:///var/run/crio/crio.sock"}}},
		{`--node-labels="a=b,c=d" --v 2 --fail-swap-on`, [][2]string{{"node-labels", "a=b,c=d"}, {"v", "2"}, {"fail-swap-on", ""}}},
		{`--x="say \"hi\"" --y=a\ b`, [][2]string{{"x", `say "hi"`}, {"y", "a b"}}},
		{"  \t--a=1\t\t--b=2  ", [][2]string{{"a", "1"}, {"b", "2"}}},
		{`stray --a`, [][2]string{{"", ""}, {"a", ""}}},
		{``, nil},
	}
	for _, tt := range tests {
		got, err := flagList(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestFlagListErrors(t *testing.T) {
	for _, in := range []string{`--a='unterminated`, `--a="unterminated`, `--a="x\"`} {
		if _, err := flagList(in); err == nil || !strings.Contains(err.Error(), "unterminated") {
			t.Errorf("%q: got %v, want an unterminated-quote error", in, err)
		}
	}
}

func TestEditKubeletFlagsBands(t *testing.T) {
	in := `KUBELET_KUBEADM_ARGS="--container-runtime=docker --network-plugin=cni --pod-infra-container-image=k8s.gcr.io/pause:3.6 --node-ip=10.0.0.1"` + "\n"
	tests := []struct {
		version, want string
	}{
		{"v1.20.15", `KUBELET_KUBEADM_ARGS="--container-runtime=remote --container-runtime-endpoint=unix:///var/run/crio/crio.sock --node-ip=10.0.0.1"`},
		{"v1.23.3", `KUBELET_KUBEADM_ARGS="--container-runtime=remote --container-runtime-endpoint=unix:///var/run/crio/crio.sock --node-ip=10.0.0.1"`},
		{"v1.24.0", `KUBELET_KUBEADM_ARGS="--node-ip=10.0.0.1 --container-runtime-endpoint=unix:///var/run/crio/crio.sock"`},
		{"v1.26.15", `KUBELET_KUBEADM_ARGS="--node-ip=10.0.0.1 --container-runtime-endpoint=unix:///var/run/crio/crio.sock"`},
		{"v1.27.0", `KUBELET_KUBEADM_ARGS="--node-ip=10.0.0.1"`},
		{"v1.37.2", `KUBELET_KUBEADM_ARGS="--node-ip=10.0.0.1"`},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			res, err := EditKubeletFlags(map[string][]byte{KubeadmFlagsEnv: []byte(in)}, tt.version, CrioEndpoint)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(res.Files[0].Content)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if res.PodInfraImage != "k8s.gcr.io/pause:3.6" {
				t.Errorf("pod infra image %q", res.PodInfraImage)
			}
		})
	}
}

func TestEditKubeletFlagsOnlyOneEndpointFile(t *testing.T) {
	files := map[string][]byte{
		KubeadmFlagsEnv:  []byte(`KUBELET_KUBEADM_ARGS="--cgroup-driver=systemd"` + "\n"),
		SysconfigKubelet: []byte("# keep me\nKUBELET_EXTRA_ARGS=--container-runtime-endpoint=unix:///var/run/cri-dockerd.sock --max-pods=200\nOTHER=1\n"),
		DefaultKubelet:   []byte("KUBELET_EXTRA_ARGS=\n"),
	}
	res, err := EditKubeletFlags(files, "v1.25.0", ContainerdEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		KubeadmFlagsEnv:  `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock"` + "\n",
		SysconfigKubelet: "# keep me\nKUBELET_EXTRA_ARGS=--max-pods=200\nOTHER=1\n",
		DefaultKubelet:   "KUBELET_EXTRA_ARGS=\n",
	}
	if res.EndpointFile != KubeadmFlagsEnv || res.CgroupDriver != "systemd" {
		t.Errorf("endpoint file %q, cgroup driver %q", res.EndpointFile, res.CgroupDriver)
	}
	if res.Files[0].Path != KubeadmFlagsEnv {
		t.Errorf("kubeadm-flags.env must come first, got %s", res.Files[0].Path)
	}
	for _, f := range res.Files {
		if string(f.Content) != want[f.Path] {
			t.Errorf("%s:\ngot  %q\nwant %q", f.Path, f.Content, want[f.Path])
		}
	}
}

func TestEditKubeletFlagsNoArgsLine(t *testing.T) {
	files := map[string][]byte{SysconfigKubelet: []byte("# empty\n")}
	res, err := EditKubeletFlags(files, "1.22", CrioEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	want := "# empty\nKUBELET_EXTRA_ARGS=\"--container-runtime=remote --container-runtime-endpoint=unix:///var/run/crio/crio.sock\"\n"
	if got := string(res.Files[0].Content); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := EditKubeletFlags(nil, "1.22", CrioEndpoint); err == nil {
		t.Error("no flags file on 1.22: want an error")
	}
	if res, err := EditKubeletFlags(nil, "1.30", CrioEndpoint); err != nil || len(res.Files) != 0 {
		t.Errorf("no flags file on 1.30: got %+v, %v", res, err)
	}
}

func TestEditKubeletFlagsIdempotent(t *testing.T) {
	for _, v := range []string{"1.23.3", "1.25.1", "1.29.0"} {
		files := map[string][]byte{
			KubeadmFlagsEnv:  []byte(`KUBELET_KUBEADM_ARGS="--network-plugin=cni --container-runtime-endpoint='unix:///x.sock' --v=2"` + "\n"),
			SysconfigKubelet: []byte("KUBELET_EXTRA_ARGS=--docker-endpoint=unix:///var/run/docker.sock\n"),
		}
		first, err := EditKubeletFlags(files, v, CrioEndpoint)
		if err != nil {
			t.Fatal(err)
		}
		again := map[string][]byte{}
		for _, f := range first.Files {
			again[f.Path] = f.Content
		}
		second, err := EditKubeletFlags(again, v, CrioEndpoint)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range second.Files {
			if f.Changed() {
				t.Errorf("%s: second run changed %s:\n%s", v, f.Path, f.Diff)
			}
		}
	}
}

func TestEditKubeletFlagsMalformed(t *testing.T) {
	files := map[string][]byte{KubeadmFlagsEnv: []byte("# c\nKUBELET_KUBEADM_ARGS=\"--a='b\"\n")}
	_, err := EditKubeletFlags(files, "1.23", CrioEndpoint)
	if err == nil || !strings.Contains(err.Error(), "kubeadm-flags.env line 2") {
		t.Errorf("got %v, want an error naming the file and line", err)
	}
	if _, err := EditKubeletFlags(map[string][]byte{}, "vX", CrioEndpoint); err == nil {
		t.Error("bad version: want an error")
	}
}

// FuzzEditKubeletFlags checks that no flags file content makes the editor
// panic, and that what it writes parses again.
func FuzzEditKubeletFlags(f *testing.F) {
	for _, s := range []string{
		`KUBELET_KUBEADM_ARGS="--network-plugin=cni --pod-infra-container-image=k8s.gcr.io/pause:3.6"`,
		`KUBELET_EXTRA_ARGS=--container-runtime=remote --container-runtime-endpoint='unix:///var/run/crio/crio.sock'`,
		"export KUBELET_EXTRA_ARGS='--a=b'\n# comment\n",
		`KUBELET_EXTRA_ARGS="--x=\"y z\" --w \\"`,
		"KUBELET_EXTRA_ARGS=--a='", "=", "KUBELET_ARGS", "",
	} {
		f.Add(s, 23)
		f.Add(s, 25)
	}
	f.Fuzz(func(t *testing.T, content string, minor int) {
		if minor < 0 || minor > 40 {
			return
		}
		v := "1." + itoa(minor)
		res, err := EditKubeletFlags(map[string][]byte{KubeadmFlagsEnv: []byte(content)}, v, CrioEndpoint)
		if err != nil {
			return
		}
		again := map[string][]byte{KubeadmFlagsEnv: res.Files[0].Content}
		if _, err := EditKubeletFlags(again, v, CrioEndpoint); err != nil {
			t.Errorf("output does not parse again: %v\n%q", err, res.Files[0].Content)
		}
	})
}

// FuzzFlagList: the tokenizer must never panic.
func FuzzFlagList(f *testing.F) {
	for _, s := range []string{`--a=b`, `--a 'b c'`, `"\`, `--a=\`, `''""`, "--a=\"\\\"\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = flagList(s)
	})
}

func itoa(n int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+n/10)) + string(rune('0'+n%10)))
}
