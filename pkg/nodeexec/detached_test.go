package nodeexec

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// localJobExecutor runs detached jobs on this machine, as setsid processes
// in a state directory and fake cgroup of their own.
func localJobExecutor(t *testing.T) *Executor {
	t.Helper()
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("this machine runs systemd; the job would become a real unit")
	}
	state, cg := t.TempDir(), t.TempDir()
	if err := os.WriteFile(cg+"/cgroup.procs", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	client := fakeCluster(t, nil, readyNode("node-1"))
	return newTestExecutor(t, client, localStreams("CRIMIG_CGROUP_ROOT="+cg), Options{StateDir: state})
}

func TestDetachedJobRoundTrip(t *testing.T) {
	e := localJobExecutor(t)
	ctx := context.Background()

	st, err := e.JobStatus(ctx, "node-1", "run1", "swap")
	if err != nil || st.State != JobNotStarted {
		t.Fatalf("before start: %+v, %v", st, err)
	}
	script := `crimig_journal stop-docker begin "$WHAT"
sleep 0.3
crimig_journal stop-docker done
exit 0`
	if err := e.StartDetached(ctx, "node-1", "run1", "swap", script, map[string]string{"WHAT": "stop docker, it's time"}); err != nil {
		t.Fatal(err)
	}
	st, err = e.JobStatus(ctx, "node-1", "run1", "swap")
	if err != nil || st.State != JobRunning {
		t.Fatalf("right after start: %+v, %v", st, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for st.State == JobRunning && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if st, err = e.JobStatus(ctx, "node-1", "run1", "swap"); err != nil {
			t.Fatal(err)
		}
	}
	if st.State != JobSucceeded || st.ExitCode != 0 {
		t.Fatalf("final status %+v", st)
	}
	entries, err := e.JobLog(ctx, "node-1", "run1")
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, en := range entries {
		phases = append(phases, en.Step+"/"+en.Phase)
		if en.Job != "swap" || en.Time.IsZero() {
			t.Errorf("entry %+v", en)
		}
	}
	if got := strings.Join(phases, " "); got != "/started stop-docker/begin stop-docker/done /exited" {
		t.Errorf("journal phases = %s", got)
	}
	if entries[1].Message != "stop docker, it's time" {
		t.Errorf("message = %q", entries[1].Message)
	}
}

func TestJobStatusStates(t *testing.T) {
	exit := func(c int) *int { return &c }
	started := JournalEntry{Job: "swap", Phase: "started"}
	tests := []struct {
		name           string
		started, alive bool
		entries        []JournalEntry
		want           JobState
	}{
		{"nothing", false, false, nil, JobNotStarted},
		{"running", true, true, []JournalEntry{started}, JobRunning},
		{"failed", true, false, []JournalEntry{started, {Job: "swap", Phase: "exited", ExitCode: exit(4)}}, JobFailed},
		{"lost after reboot", true, false, []JournalEntry{started, {Job: "swap", Step: "reboot", Phase: "begin"}}, JobLost},
		{"retried after a failure", true, true, []JournalEntry{started, {Job: "swap", Phase: "exited", ExitCode: exit(1)}, started}, JobRunning},
		{"other job ignored", false, false, []JournalEntry{{Job: "prep", Phase: "exited", ExitCode: exit(0)}}, JobNotStarted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jobStatus("swap", tt.started, tt.alive, tt.entries).State; got != tt.want {
				t.Errorf("state = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseJournalSkipsTornLines(t *testing.T) {
	out := `{"time":"2026-11-26T12:00:00Z","job":"swap","phase":"started"}
{"time":"2026-11-26T12:00:01Z","job":"swap","step":"x","pha`
	if got := parseJournal([]byte(out)); len(got) != 1 || got[0].Phase != "started" {
		t.Errorf("parseJournal = %+v", got)
	}
}

// A job that dies before it journals why leaves the reason in its log:
// JobStatus carries the log's last lines so that the error can quote them.
func TestFailedJobStatusCarriesTheEndOfItsLog(t *testing.T) {
	e := localJobExecutor(t)
	ctx := context.Background()
	script := `i=0; while [ $i -lt 20 ]; do echo "noise $i"; i=$((i + 1)); done
echo 'swap: CRIMIG_RUN_ID is required, "quoted"' >&2
exit 2`
	if err := e.StartDetached(ctx, "node-1", "run1", "swap", script, nil); err != nil {
		t.Fatal(err)
	}
	st, err := e.JobStatus(ctx, "node-1", "run1", "swap")
	for deadline := time.Now().Add(10 * time.Second); err == nil && st.State == JobRunning && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		st, err = e.JobStatus(ctx, "node-1", "run1", "swap")
	}
	if err != nil || st.State != JobFailed {
		t.Fatalf("final status %+v, %v", st, err)
	}
	if n := len(st.LogTail); n != 15 || st.LogTail[0] != "noise 6" || st.LogTail[n-1] != `swap: CRIMIG_RUN_ID is required, "quoted"` {
		t.Errorf("log tail = %q", st.LogTail)
	}
}

func TestCheckDetached(t *testing.T) {
	for _, c := range []struct {
		out, err string
	}{
		{`{"unit":"crimig-r1-swap","mode":"systemd","dir":"/var/lib/crimig/r1"}` + "\n", ""},
		{`{"unit":"crimig-r1-swap","mode":"setsid","dir":"/var/lib/crimig/r1"}`, ""},
		{"", "not its result line"},
		{`{"unit":"crimig-r2-swap","mode":"systemd"}`, `started unit "crimig-r2-swap" (systemd), want "crimig-r1-swap"`},
		{`{"unit":"crimig-r1-swap","mode":""}`, "under systemd or setsid"},
	} {
		err := checkDetached([]byte(c.out), "crimig-r1-swap")
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: err = %v, want %q", c.out, err, c.err)
		}
	}
}
