package hostscripts

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestProbeSource(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal("busybox is not installed (apt-get install -y busybox-static)")
	}
	applets := busyboxBin(t, bb)
	script := filepath.Join(t.TempDir(), "probe.sh")
	if err := os.WriteFile(script, []byte(Get(ProbeSource)), 0o600); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Reachable *bool  `json:"reachable"`
		URL       string `json:"url"`
		Detail    string `json:"detail"`
	}
	tests := []struct {
		name      string
		stubs     map[string]string // command -> exit code
		env       []string
		reachable *bool
		url       string
	}{
		{"pkgs answers (rpm)", map[string]string{"curl": "0"}, []string{"CRIMIG_TARGET_VERSION=1.29"}, ptrBool(true),
			"https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.29/rpm/repodata/repomd.xml"},
		{"air-gapped host", map[string]string{"curl": "6"}, []string{"CRIMIG_TARGET_VERSION=v1.23.3"}, ptrBool(false),
			"https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.23/rpm/repodata/repomd.xml"},
		{"private apt mirror", map[string]string{"curl": "0", "apt-get": "0"}, []string{"CRIMIG_SOURCE=repo", "CRIMIG_REPO_URL=http://mirror.corp.example/crio"}, ptrBool(true),
			"http://mirror.corp.example/crio/Release"},
		{"already installed", map[string]string{"crio": "0", "curl": "6"}, []string{"CRIMIG_TARGET_VERSION=1.29"}, ptrBool(true), ""},
		{"containerd from configured repositories", map[string]string{"curl": "6"}, []string{"CRIMIG_TARGET=containerd"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stubs := t.TempDir()
			for name, code := range tt.stubs {
				body := "#!" + bb + " sh\nexit " + code + "\n"
				if err := os.WriteFile(filepath.Join(stubs, name), []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(bb, "sh", script)
			// Later assignments win: a case may override the target.
			cmd.Env = append([]string{"PATH=" + stubs + ":" + applets, "CRIMIG_TARGET=cri-o"}, tt.env...)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("probe-source.sh: %v", err)
			}
			var r result
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("not JSON: %q", out)
			}
			if (r.Reachable == nil) != (tt.reachable == nil) || (r.Reachable != nil && *r.Reachable != *tt.reachable) || r.URL != tt.url {
				t.Errorf("got %s, want reachable=%v url=%q", out, deref(tt.reachable), tt.url)
			}
		})
	}
}

func ptrBool(b bool) *bool { return &b }

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}
