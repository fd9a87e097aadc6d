package realnode

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "realnode: the real node needs root (systemd-nspawn, mounts, nsenter); run as root")
		os.Exit(1)
	}
	code := m.Run()
	if os.Getenv("REALNODE_KEEP") == "1" {
		fmt.Fprintln(os.Stderr, "realnode: REALNODE_KEEP=1, node and cluster left running; stop them with hack/realnode/node-down.sh --all")
	} else {
		cmd := exec.Command(filepath.Join(repoRoot(), "hack", "realnode", "node-down.sh"), "--all")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "realnode: stopping the tier: %v\n", err)
			code = 1
		}
	}
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
