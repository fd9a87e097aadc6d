package hostscripts

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/controller"
)

// TestPodLogCheck runs pod-log-check.sh on a simulated host against logs
// laid out as each runtime lays them out (the simulator's own writer).
func TestPodLogCheck(t *testing.T) {
	s := newSimHost(t, "rocky9")
	now := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	dir := "/var/log/pods/crimig-system_crimig-smoke-1_0a1b/smoke"

	// CRI-O / containerd: CRI lines in the file itself.
	s.write(dir+"/0.log", controller.LogLine("crio", "stdout", now, "crimig-smoke run-1")+
		controller.LogLine("crio", "stderr", now, "second"), 0o640)
	got := podLogCheck(t, s, dir, 0)
	if got.Format != "cri" || got.Symlink != "" || got.File != dir+"/0.log" {
		t.Errorf("CRI log: %+v", got)
	}

	// Docker: a symlink to the json-file log under docker's data-root.
	ddir := "/var/log/pods/default_web-1_0c0d/web"
	target := "/var/lib/docker/containers/abc/abc-json.log"
	s.write(target, controller.LogLine("docker", "stdout", now, `say "hi" \ bye`), 0o640)
	if err := os.MkdirAll(filepath.Join(s.Root, ddir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(s.Root, ddir, "0.log")); err != nil {
		t.Fatal(err)
	}
	got = podLogCheck(t, s, ddir, 0)
	if got.Format != "docker-json" || got.Symlink != target {
		t.Errorf("docker log: %+v", got)
	}

	// A container that printed nothing yet; the newest rotation wins.
	edir := "/var/log/pods/default_quiet-1_0e0f/quiet"
	s.write(edir+"/0.log", controller.LogLine("crio", "stdout", now, "old"), 0o640)
	s.write(edir+"/1.log", "", 0o640)
	if got = podLogCheck(t, s, edir, 0); got.Format != "empty" || !strings.HasSuffix(got.File, "/1.log") {
		t.Errorf("empty log: %+v", got)
	}

	// Not a log format the kubelet writes.
	udir := "/var/log/pods/default_odd-1_0a0a/odd"
	s.write(udir+"/0.log", "plain text\n", 0o640)
	if got = podLogCheck(t, s, udir, 0); got.Format != "unknown" {
		t.Errorf("plain text: %+v", got)
	}

	// A dangling docker symlink after docker's data was removed.
	gdir := "/var/log/pods/default_gone-1_0b0b/gone"
	if err := os.MkdirAll(filepath.Join(s.Root, gdir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/var/lib/docker/containers/nope/nope-json.log", filepath.Join(s.Root, gdir, "0.log")); err != nil {
		t.Fatal(err)
	}
	podLogCheck(t, s, gdir, 1)
	podLogCheck(t, s, "/var/log/pods/default_none_1/c", 1)
	podLogCheck(t, s, "/etc", 2)
	podLogCheck(t, s, "/var/log/pods/../../etc", 2)
}

type podLogResult struct {
	File, Format, Symlink string
}

func podLogCheck(t *testing.T, s *simHost, dir string, wantExit int) podLogResult {
	t.Helper()
	out, err := s.sh(Get(PodLogCheck), "CRIMIG_POD_LOG_DIR="+dir)
	code := 0
	if err != nil {
		code = exitCode(err)
	}
	if code != wantExit {
		t.Fatalf("%s: exit %d, want %d: %s", dir, code, wantExit, out)
	}
	var r podLogResult
	if wantExit == 0 {
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: not JSON: %q", dir, out)
		}
	}
	return r
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
