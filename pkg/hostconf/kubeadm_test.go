package hostconf

import (
	"strings"
	"testing"
)

func TestCRISocket(t *testing.T) {
	tests := []struct{ version, endpoint, want string }{
		{"v1.23.3", CrioEndpoint, "/var/run/crio/crio.sock"},
		{"v1.24.0", CrioEndpoint, "unix:///var/run/crio/crio.sock"},
		{"1.22", ContainerdEndpoint, "/run/containerd/containerd.sock"},
		{"v1.33.1", ContainerdEndpoint, "unix:///run/containerd/containerd.sock"},
	}
	for _, tt := range tests {
		if got, err := CRISocket(tt.version, tt.endpoint); err != nil || got != tt.want {
			t.Errorf("CRISocket(%s) = %q, %v; want %q", tt.version, got, err, tt.want)
		}
	}
	if _, err := CRISocket("2.0.0", CrioEndpoint); err == nil {
		t.Error("kubelet 2.x: want an error")
	}
}

func TestInstanceConfig(t *testing.T) {
	got, _, err := instanceConfig(nil, CrioEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := decodeKubeletConfig(got)
	if err != nil || kc.ContainerRuntimeEndpoint != CrioEndpoint {
		t.Errorf("new instance config %q: %v", got, err)
	}
	if _, _, err := instanceConfig([]byte("kind: x\n"), CrioEndpoint); err == nil ||
		!strings.Contains(err.Error(), InstanceConfigPath) {
		t.Errorf("bad existing file: got %v", err)
	}
}

func TestVersions(t *testing.T) {
	tests := []struct {
		in           string
		major, minor int
	}{
		{"v1.23.3", 1, 23}, {"1.29", 1, 29}, {"v1.28.5-eks-5e0fdde", 1, 28}, {"1.27+", 1, 27}, {"2.1.4", 2, 1},
	}
	for _, tt := range tests {
		ma, mi, err := minorVersion(tt.in)
		if err != nil || ma != tt.major || mi != tt.minor {
			t.Errorf("minorVersion(%q) = %d.%d, %v", tt.in, ma, mi, err)
		}
	}
	for _, bad := range []string{"", "1", "v", "x.y", "1.x"} {
		if _, _, err := minorVersion(bad); err == nil {
			t.Errorf("minorVersion(%q): want an error", bad)
		}
	}
	for v, want := range map[string]string{
		"v1.18.0": "registry.k8s.io/pause:3.2", "v1.23.3": "registry.k8s.io/pause:3.6",
		"v1.29.1": "registry.k8s.io/pause:3.9", "v1.31.0": "registry.k8s.io/pause:3.10",
		"v1.37.2": "registry.k8s.io/pause:3.10.1",
	} {
		if got, err := DefaultPauseImage(v); err != nil || got != want {
			t.Errorf("DefaultPauseImage(%s) = %q, %v; want %q", v, got, err, want)
		}
	}
}
