package hostconf

import (
	"path"
	"strings"
	"testing"
)

// A registry name is a host[:port]: one holding "..", a slash or other
// path characters would become a path under /etc/containerd/certs.d. Such
// names are refused with a loss that says why, and no file is written for
// them.
func TestRegistryNamesThatWouldBePaths(t *testing.T) {
	daemon := `{"insecure-registries": ["..", "http://../", "a..b", ".hidden", "-x", "ok.example.com:5000", "[fd00::1]:5000"],
		"registry-mirrors": ["https://../", "https://m..example/"]}`
	out, err := Translate(Input{DaemonJSON: []byte(daemon), KubeletConfig: []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"), KubeletVersion: "v1.29.0", Target: TargetContainerd, TargetVersion: "1.7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range out.Files {
		if !strings.HasPrefix(f.Path, ContainerdCertsDir+"/") {
			continue
		}
		host := strings.TrimSuffix(strings.TrimPrefix(f.Path, ContainerdCertsDir+"/"), "/hosts.toml")
		if path.Clean(f.Path) != f.Path || strings.Contains(host, "/") || !map[string]bool{"ok.example.com:5000": true, "[fd00::1]:5000": true}[host] {
			t.Errorf("wrote %s", f.Path)
		}
		if strings.Contains(string(f.Content), "..") {
			t.Errorf("%s names a bad host:\n%s", f.Path, f.Content)
		}
	}
	refused := 0
	for _, l := range out.Losses {
		if strings.Contains(l.Reason, "not a registry host name") {
			refused++
		}
	}
	if refused != 7 {
		t.Errorf("%d names refused, want 7: %+v", refused, out.Losses)
	}
}
