package fleetstatus_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoTerminalDeps: status -o reads this package, so it must not pull in
// the interactive view or its terminal libraries.
func TestNoTerminalDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/crimig/kubectl-crimig/pkg/fleetstatus").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages: %s", len(deps), out)
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/crimig/kubectl-crimig/pkg/tui", "github.com/charmbracelet/", "github.com/muesli/termenv"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("fleetstatus depends on %s", d)
			}
		}
	}
}
