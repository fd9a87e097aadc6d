package hostscripts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim"
	"github.com/crimig/kubectl-crimig/test/sim/applets"
	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/rootfs"
)

// TestMain lets this test binary serve as the simulator's multi-call binary:
// inside a simulated host root, /usr/bin/systemctl, yum, crio... are links to
// a copy of it, and argv[0] (or "crimig-sim APPLET") picks the stub.
func TestMain(m *testing.M) {
	name := filepath.Base(os.Args[0])
	if name == "crimig-sim" && len(os.Args) > 1 {
		if f, ok := applets.Lookup(os.Args[1]); ok {
			os.Exit(f(applets.NewEnv(), os.Args[2:]))
		}
	}
	if f, ok := applets.Lookup(name); ok {
		os.Exit(f(applets.NewEnv(), os.Args[1:]))
	}
	os.Exit(m.Run())
}

// simHost is one simulated node: a host root built by the node simulator
// from a fixture, with docker, the kubelet and the stub system commands.
type simHost struct {
	t    *testing.T
	Root string
	H    *host.Host
}

// newSimHost builds a host root from a fixture (centos7, rocky9, ubuntu22).
// Building one needs root (device nodes, chroot) and a static busybox.
func newSimHost(t *testing.T, fixture string) *simHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the node simulator needs root to build and chroot into host roots")
	}
	// Every host is its own root with its own state, and the tests spend
	// most of their time waiting for jobs.
	t.Parallel()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Fatal("no /bin/busybox (apt-get install -y busybox-static)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	fixtures, err := fs.Sub(sim.Fixtures, "fixtures")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "root")
	if _, err := rootfs.Build(rootfs.Options{Fixtures: fixtures, Fixture: fixture, Dir: root, Name: "node-1", Self: self}); err != nil {
		t.Fatalf("build the %s host root: %v", fixture, err)
	}
	t.Cleanup(func() { killJobs(root) })
	return &simHost{t: t, Root: root, H: host.New(root)}
}

// killJobs ends detached jobs a failed test may have left running.
func killJobs(root string) {
	h := host.New(root)
	for _, p := range h.Glob(filepath.Join(host.JobsDir, "*")) {
		h.Stop(filepath.Base(p))
	}
}

// sh runs a script with /bin/sh inside the root, as the exec pod's nsenter does.
func (s *simHost) sh(script string, env ...string) (string, error) {
	s.t.Helper()
	for attempt := 0; ; attempt++ {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: s.Root}
		cmd.Dir = "/"
		// The executor gives every script crimig's directory.
		cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "CRIMIG_STATE_DIR=" + StateDir}, env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		// A parallel test that forks while this root's shell was being
		// copied in holds a write descriptor on it for an instant
		// (golang/go#22315): the exec never started, so try again.
		if errors.Is(err, syscall.ETXTBSY) && attempt < 10 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		return out.String(), err
	}
}

// mustSh is sh that fails the test on a non-zero exit.
func (s *simHost) mustSh(script string, env ...string) string {
	s.t.Helper()
	out, err := s.sh(script, env...)
	if err != nil {
		s.t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// write writes a file inside the root.
func (s *simHost) write(p, content string, mode os.FileMode) {
	s.t.Helper()
	full := filepath.Join(s.Root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		s.t.Fatal(err)
	}
}

// read returns a file inside the root; ok is false when it does not exist.
func (s *simHost) read(p string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(s.Root, p))
	return string(data), err == nil
}

// journalEntry is one line of a run's journal (see journal-lib.sh).
type journalEntry struct {
	Job      string `json:"job"`
	Step     string `json:"step"`
	Phase    string `json:"phase"`
	Message  string `json:"message"`
	ExitCode *int   `json:"exitCode"`
}

func (e journalEntry) String() string {
	if e.ExitCode != nil {
		return fmt.Sprintf("exited %d", *e.ExitCode)
	}
	return e.Step + " " + e.Phase
}

// start starts a detached job the way nodeexec's StartDetached does: detach.sh
// runs under exec-wrapper.sh, whose exit the job runner waits for. Like
// StartDetached, it names in CRIMIG_JOB_ENV only the job's own variables:
// what detach.sh itself needs (CRIMIG_RUN_ID...) is for the product to hand
// on, since systemd-run gives the job a clean environment.
func (s *simHost) start(run, job, script string, env ...string) {
	s.t.Helper()
	var names []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	args := append([]string{"-c", Get(ExecWrapper), "crimig-exec", "n0nce", Get(Detach),
		"CRIMIG_RUN_ID=" + run, "CRIMIG_STATE_DIR=" + StateDir, "CRIMIG_JOB=" + job, "CRIMIG_JOB_SCRIPT=" + script,
		"CRIMIG_JOB_LIB=" + Get(JournalLib), "CRIMIG_JOB_RUNNER=" + Get(JobRunner),
		"CRIMIG_JOB_ENV=" + strings.Join(names, " ")}, env...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: s.Root}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(string(out), "__CRIMIG_EXIT__ n0nce 0\n") {
		s.t.Fatalf("detach failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"mode":"systemd"`) {
		s.t.Errorf("detach did not use systemd-run in the simulated host: %s", out)
	}
}

// detach starts a job and waits for its exited entry. It returns the
// journal entries of this job.
func (s *simHost) detach(run, job, script string, env ...string) []journalEntry {
	s.t.Helper()
	s.start(run, job, script, env...)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		entries := s.journal(run, job)
		if n := len(entries); n > 0 && entries[n-1].Phase == "exited" {
			return entries
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := s.read(RunDir(run) + "/jobs/" + job + ".log")
	s.t.Fatalf("job %s did not finish within 60s; journal: %v\nlog:\n%s", job, s.journal(run, job), log)
	return nil
}

// journal decodes the entries of one job from the run's journal.
func (s *simHost) journal(run, job string) []journalEntry {
	s.t.Helper()
	data, _ := s.read(RunDir(run) + "/journal.jsonl")
	var out []journalEntry
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		var e journalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			s.t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		if e.Job == job {
			out = append(out, e)
		}
	}
	return out
}

// unit reports a unit's active and enable states as the stub systemctl sees them.
func (s *simHost) unit(u string) (active, enabled string) {
	return s.H.State(u), s.H.EnabledState(u)
}

// setBuiltinModules makes the simulated kernel have these modules built in,
// from its next boot on.
func (s *simHost) setBuiltinModules(mods ...string) {
	s.t.Helper()
	s.setMeta("builtinModules", mods)
}

// setMeta sets one field of the simulated machine's host.json.
func (s *simHost) setMeta(key string, value any) {
	s.t.Helper()
	p := filepath.Join(s.Root, host.MetaFile)
	var meta map[string]any
	data, err := os.ReadFile(p)
	if err == nil {
		err = json.Unmarshal(data, &meta)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	meta[key] = value
	if data, err = json.Marshal(meta); err == nil {
		err = os.WriteFile(p, data, 0o644)
	}
	if err != nil {
		s.t.Fatal(err)
	}
}
