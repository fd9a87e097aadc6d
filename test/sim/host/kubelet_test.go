package host

import (
	"encoding/json"
	"strings"
	"testing"
)

// kubeletHost is a minimal root: metadata, a config.yaml and a running crio.
func kubeletHost(t *testing.T, version, config string) *Host {
	t.Helper()
	h := New(t.TempDir())
	meta, _ := json.Marshal(Meta{Fixture: "test", KubeletVersion: version, CrioVersion: "1.36.0"})
	for p, c := range map[string]string{
		MetaFile:                       string(meta),
		"/var/lib/kubelet/config.yaml": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n" + config,
		"/etc/kubernetes/kubelet.conf.d/90-crimig.conf": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncontainerRuntimeEndpoint: unix:///var/run/crio/crio.sock\n",
		UnitsRunDir + "/crio.service":                   Active,
	} {
		if err := h.Write(p, c); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func TestKubeletFlagsByVersion(t *testing.T) {
	const crio = "--container-runtime-endpoint=unix:///var/run/crio/crio.sock"
	for _, tc := range []struct {
		version string
		flags   []string
		config  string
		wantErr string
	}{
		{"v1.23.3", []string{"--container-runtime=remote", crio, "--network-plugin=cni"}, "", ""},
		// Without --container-runtime=remote a 1.23 kubelet runs dockershim, which needs docker.
		{"v1.23.3", []string{crio}, "", "Cannot connect to the Docker daemon"},
		{"v1.24.0", []string{crio, "--network-plugin=cni"}, "", "unknown flag: --network-plugin"},
		{"v1.24.0", []string{crio, "--cni-bin-dir=/opt/cni/bin"}, "", "unknown flag: --cni-bin-dir"},
		{"v1.26.1", []string{"--container-runtime=remote", crio}, "", ""},
		{"v1.27.0", []string{"--container-runtime=remote", crio}, "", "unknown flag: --container-runtime"},
		{"v1.26.1", nil, "containerRuntimeEndpoint: unix:///var/run/crio/crio.sock\n", `unknown field "containerRuntimeEndpoint"`},
		{"v1.27.0", nil, "containerRuntimeEndpoint: unix:///var/run/crio/crio.sock\n", ""},
		{"v1.34.0", []string{crio, "--pod-infra-container-image=registry.k8s.io/pause:3.10"}, "", ""},
		{"v1.35.0", []string{crio, "--pod-infra-container-image=registry.k8s.io/pause:3.10"}, "", "unknown flag: --pod-infra-container-image"},
		{"v1.37.2", []string{"--container-runtime-endpoint=unix:///var/run/cri-dockerd.sock"}, "", "connect: no such file or directory"},
		{"v1.37.2", []string{crio}, "runtimeRequestTimeout: 5m\ncontainerLogMaxSize: 100Mi\ncontainerLogMaxFiles: 3\n", ""},
		{"v1.37.2", []string{crio}, "runtimeRequestTimeout: five minutes\n", "strict decoding error"},
		{"v1.29.6", []string{crio, "--config-dir=/etc/kubernetes/kubelet.conf.d"}, "", "unknown flag: --config-dir"},
		{"v1.33.4", []string{"--config-dir=/etc/kubernetes/kubelet.conf.d"}, "", ""}, // the drop-in sets the endpoint
	} {
		t.Run(tc.version+" "+strings.Join(tc.flags, " ")+tc.config, func(t *testing.T) {
			h := kubeletHost(t, tc.version, tc.config)
			cmd := append([]string{"/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"}, tc.flags...)
			err := h.StartKubelet(cmd)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("kubelet %s refused: %v", tc.version, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("kubelet %s: err %v, want %q", tc.version, err, tc.wantErr)
			case err == nil && h.Kubelet().Runtime != "crio":
				t.Errorf("kubelet %s runs on %q, want crio", tc.version, h.Kubelet().Runtime)
			}
		})
	}
}
