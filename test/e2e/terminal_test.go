package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// terminal is a tmux session on its own server: a real terminal for the
// interactive views, which only draw when stdin and stderr are terminals.
type terminal struct {
	t    *testing.T
	sock string
	name string
}

// startTerminal runs the plugin with args in a 150x50 tmux pane. The pane
// stays after the plugin exits, with a last line "crimig exited N".
func startTerminal(t *testing.T, args ...string) *terminal {
	t.Helper()
	bin := CrimigBinary(t)
	tm := &terminal{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock"), name: "crimig"}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	shell := fmt.Sprintf("env KUBECONFIG='%s' TERM=xterm-256color '%s' %s; echo \"crimig exited $?\"; sleep 3600",
		Kubeconfig(), bin, strings.Join(quoted, " "))
	tm.tmux("new-session", "-d", "-s", tm.name, "-x", "150", "-y", "50", shell)
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-S", tm.sock, "kill-server").Run()
	})
	return tm
}

func (tm *terminal) tmux(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the pane shows now.
func (tm *terminal) screen() string {
	tm.t.Helper()
	return tm.tmux("capture-pane", "-p", "-t", tm.name)
}

// waitFor waits until the pane shows text, and returns the screen.
func (tm *terminal) waitFor(text string, timeout time.Duration) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := tm.screen()
		if strings.Contains(s, text) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the terminal did not show %q within %s; it shows:\n%s", text, timeout, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// keys types into the pane; tmux key names (C-c, Enter) are keys, the rest
// literal text.
func (tm *terminal) keys(keys ...string) {
	tm.t.Helper()
	tm.tmux(append([]string{"send-keys", "-t", tm.name}, keys...)...)
}

// TestMigrateInATerminal runs migrate on a terminal, without --yes: it asks
// for confirmation on the plain terminal, then draws the progress view.
// ctrl+c and y while the swap job runs stop the run once the swap has
// ended, not in its middle: the node is on CRI-O, still cordoned, and its
// state says Stopped after swap. The status view shows it so, and the same
// command without a terminal resumes the run to the end.
func TestMigrateInATerminal(t *testing.T) {
	t.Parallel()
	n := AddSimNode(t, "centos7", "tty")
	args := append([]string{"migrate", n.Name, "--force", "--delete-emptydir-data", "--no-reboot"}, acceptShared...)
	tm := startTerminal(t, args...)
	tm.waitFor("now? The node is drained first. [y/N]", 60*time.Second)
	tm.keys("y", "Enter")
	tm.waitFor("crimig migrate → cri-o", 30*time.Second)
	tm.waitFor("swap job started on the host", 2*time.Minute)
	tm.keys("C-c")
	tm.waitFor("Stop after the current step? y/n", 10*time.Second)
	tm.keys("y")
	final := tm.waitFor("crimig exited", migrateTimeout)
	for _, want := range []string{"crimig exited 1", "stopped after swap", "resume with 'kubectl crimig migrate " + n.Name + "'"} {
		if !strings.Contains(final, want) {
			t.Errorf("the terminal does not show %q:\n%s", want, final)
		}
	}
	node := WaitNodeOn(t, n.Name, "cri-o://", 10*time.Second)
	st := NodeState(t, n.Name)
	if st == nil || st.Phase != migrate.StateStopped || st.Step != inspect.StepSwap || !node.Spec.Unschedulable {
		t.Fatalf("state %+v, cordoned %v: want Stopped after swap, still cordoned", st, node.Spec.Unschedulable)
	}

	t.Run("status shows the stopped node", func(t *testing.T) {
		status := startTerminal(t, "status")
		status.waitFor("crimig status", 30*time.Second)
		// One key at a time: keys that arrive together reach the view as
		// one multi-rune key press.
		status.keys("/")
		status.waitFor("filter nodes", 10*time.Second)
		status.keys(n.Name)
		status.waitFor("/"+n.Name, 10*time.Second)
		status.keys("Enter")
		row := status.waitFor("filter: "+n.Name, 10*time.Second)
		if !strings.Contains(row, "Stopped") || !strings.Contains(row, "swap") || !strings.Contains(row, "· stopped 1") {
			t.Errorf("the status view does not show %s stopped after swap, nor count it:\n%s", n.Name, row)
		}
		status.keys("q")
		status.waitFor("crimig exited 0", 10*time.Second)
	})

	_, stderr, code := RunCrimig(t, migrateArgs(n.Name, "--no-reboot")...)
	if code != 0 {
		t.Fatalf("the resumed run exited %d\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "resuming run "+st.RunID) {
		t.Errorf("the re-run did not resume run %s:\n%s", st.RunID, stderr)
	}
	if after := NodeState(t, n.Name); after.Phase != migrate.StateSucceeded || after.RunID != st.RunID || GetNode(t, n.Name).Spec.Unschedulable {
		t.Errorf("after the re-run: state %+v, cordoned %v", after, GetNode(t, n.Name).Spec.Unschedulable)
	}
}
