package host

import (
	"reflect"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`--a=1 --b "x y"`, []string{"--a=1", "--b", "x y"}},
		{`"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"`, []string{"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"}},
		{`--endpoint='unix:///var/run/crio/crio.sock'`, []string{"--endpoint=unix:///var/run/crio/crio.sock"}},
		{`a\ b c`, []string{"a b", "c"}},
		{``, nil},
	} {
		if got := SplitArgs(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	got := ParseFlags([]string{"--config=/c.yaml", "--container-runtime", "remote", "--v", "2", "--fail-swap-on", "--node-ip=10.0.0.1"})
	want := map[string]string{"config": "/c.yaml", "container-runtime": "remote", "v": "2", "fail-swap-on": "true", "node-ip": "10.0.0.1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseFlags = %v, want %v", got, want)
	}
}

func TestNormEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"unix:///var/run/crio/crio.sock":         CrioSocket,
		"/var/run/dockershim.sock":               DockershimSocket,
		"unix:///run/containerd/containerd.sock": ContainerdSocket,
	} {
		if got := NormEndpoint(in); got != want {
			t.Errorf("NormEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMinor(t *testing.T) {
	for in, want := range map[string]int{"v1.23.3": 23, "1.37.0": 37, "garbage": 0} {
		if got := Minor(in); got != want {
			t.Errorf("Minor(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestCrioRepoDetection(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"kubic", "[devel_kubic_libcontainers_stable_cri-o_1.22]\nbaseurl=https://download.opensuse.org/repositories/devel:/kubic:/libcontainers:/stable:/cri-o:/1.22/CentOS_7/\n", "1.22"},
		{"isv", "[cri-o]\nbaseurl=https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/rpm/\n", "1.30"},
		{"disabled", "[cri-o]\nbaseurl=https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/rpm/\nenabled=0\n", ""},
		{"no url", "[cri-o]\nname=cri-o 1.30\n", ""},
		{"unrelated", "[base]\nbaseurl=http://mirror.corp.example/centos/7/os/x86_64/\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if m := crioMinorRE.FindStringSubmatch(enabledRepoText(tc.text)); m != nil {
				got = m[1]
			}
			if got != tc.want {
				t.Errorf("cri-o minor = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseSysctlFile(t *testing.T) {
	got := ParseSysctlFile("# comment\nnet.ipv4.ip_forward = 1\n-net.bridge.bridge-nf-call-iptables=1\n\n; other\n")
	want := [][2]string{{"net.ipv4.ip_forward", "1"}, {"net.bridge.bridge-nf-call-iptables", "1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSysctlFile = %v, want %v", got, want)
	}
}

func TestShortName(t *testing.T) {
	for image, want := range map[string]bool{
		"nginx:1.25": true, "library/nginx": true, "bitnami/redis:7": true,
		"docker.io/library/nginx:1.25": false, "registry.corp.example:5000/k8s/pause:3.6": false,
		"localhost/app:dev": false, "quay.io/prometheus/node-exporter": false,
	} {
		if got := ShortName(image); got != want {
			t.Errorf("ShortName(%q) = %v, want %v", image, got, want)
		}
	}
}
