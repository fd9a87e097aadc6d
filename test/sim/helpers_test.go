package sim_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertFailed checks that a unit is failed (or, for the kubelet, crash
// looping) and that its journal says why.
func assertFailed(t *testing.T, root, unit, reason string) {
	t.Helper()
	u := host.NormUnit(unit)
	want := host.Failed
	if u == "kubelet.service" {
		want = host.Activating
	}
	if s := host.New(root).State(u); s != want {
		t.Errorf("%s is %s, want %s", unit, s, want)
	}
	data, _ := os.ReadFile(filepath.Join(root, host.JournalDir, u+".log"))
	if !strings.Contains(string(data), reason) {
		t.Errorf("%s journal lacks %q:\n%s", unit, reason, data)
	}
}
