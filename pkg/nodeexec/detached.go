package nodeexec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

// JournalPath is where a detached job of run runID journals on the host.
func JournalPath(runID string) string { return path.Join(hostscripts.RunDir(runID), "journal.jsonl") }

// JobLogPath is where a detached job's output (stdout and stderr) goes on the host.
func JobLogPath(runID, job string) string {
	return path.Join(hostscripts.RunDir(runID), "jobs", job+".log")
}

// JobUnit is the systemd unit name of a detached job.
func JobUnit(runID, job string) string { return "crimig-" + runID + "-" + job }

// JournalEntry is one line of a run's journal. Jobs write them with
// crimig_journal STEP PHASE MESSAGE; the runner adds "started" and "exited".
type JournalEntry struct {
	Time     time.Time `json:"time"`
	Job      string    `json:"job"`
	Step     string    `json:"step,omitempty"`
	Phase    string    `json:"phase"`
	Message  string    `json:"message,omitempty"`
	ExitCode *int      `json:"exitCode,omitempty"`
}

// JobState summarises a detached job.
type JobState string

// Job states.
const (
	JobNotStarted JobState = "NotStarted" // no trace of the job on the host
	JobRunning    JobState = "Running"
	JobSucceeded  JobState = "Succeeded"
	JobFailed     JobState = "Failed"
	// JobLost means the job started but is neither running nor journaled an
	// exit: it was killed, or the host rebooted under it.
	JobLost JobState = "Lost"
)

// JobStatus is what JobStatus found on the host.
type JobStatus struct {
	Job      string
	State    JobState
	ExitCode int            // valid for Succeeded and Failed
	Entries  []JournalEntry // this job's journal entries, oldest first
	// LogTail holds the last lines of the job's output (JobLogPath): where a
	// job that failed before it could journal why says what went wrong.
	LogTail []string
}

var jobNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// StartDetached starts script as job on node's host and returns at once.
// The job runs as the transient systemd unit crimig-<runID>-<job> (or under
// setsid without systemd), outlives the pod and the container runtime, gets
// env in its environment, and may call crimig_journal STEP PHASE MESSAGE to
// write JournalPath(runID). Its exit code is journaled too. The job's body
// starts about a second after this returns, once this exec has finished, so
// a first step that stops the runtime cannot break the start.
func (e *Executor) StartDetached(ctx context.Context, node, runID, job, script string, env map[string]string) error {
	if !jobNameRE.MatchString(runID) || !jobNameRE.MatchString(job) {
		return fmt.Errorf("run id %q and job name %q may only hold letters, digits, '.', '_' and '-'", runID, job)
	}
	all := map[string]string{
		"CRIMIG_RUN_ID":     runID,
		"CRIMIG_JOB":        job,
		"CRIMIG_JOB_SCRIPT": script,
		"CRIMIG_JOB_LIB":    hostscripts.Get(hostscripts.JournalLib),
		"CRIMIG_JOB_RUNNER": hostscripts.Get(hostscripts.JobRunner),
	}
	names := make([]string, 0, len(env))
	for k, v := range env {
		if _, reserved := all[k]; reserved || k == "CRIMIG_JOB_ENV" {
			return fmt.Errorf("job environment may not set %s; crimig sets it", k)
		}
		all[k] = v
		names = append(names, k)
	}
	sort.Strings(names)
	all["CRIMIG_JOB_ENV"] = strings.Join(names, " ")
	res, err := e.Run(ctx, node, hostscripts.Get(hostscripts.Detach), all)
	if errors.Is(err, ErrStreamBroken) {
		return fmt.Errorf("starting job %s on node %s: the job may have started; once the node is Ready, "+
			"check it with JobStatus (unit %s): %w", job, node, JobUnit(runID, job), err)
	}
	if err != nil {
		return fmt.Errorf("starting job %s on node %s: %w", job, node, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("starting job %s on node %s failed (exit %d): %s; "+
			"if the unit already exists, the job is running: check \"systemctl status %s\" on the host",
			job, node, res.ExitCode, strings.TrimSpace(string(res.Stderr)), JobUnit(runID, job))
	}
	return checkDetached(res.Stdout, JobUnit(runID, job))
}

// checkDetached checks detach.sh's result line: the job runs as the unit
// that JobStatus and the error messages name.
func checkDetached(out []byte, unit string) error {
	var started struct {
		Unit string `json:"unit"`
		Mode string `json:"mode"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &started); err != nil {
		return fmt.Errorf("%s printed %q, not its result line: %w", hostscripts.Detach, out, err)
	}
	if started.Unit != unit || (started.Mode != "systemd" && started.Mode != "setsid") {
		return fmt.Errorf("%s started unit %q (%s), want %q under systemd or setsid", hostscripts.Detach, started.Unit, started.Mode, unit)
	}
	return nil
}

// JobLog reads the whole journal of runID on node. The pod is checked first
// and replaced when it died, as it does when the runtime under it stopped.
func (e *Executor) JobLog(ctx context.Context, node, runID string) ([]JournalEntry, error) {
	out, err := e.readJournal(ctx, node, runID, "")
	if err != nil {
		return nil, err
	}
	return parseJournal(out), nil
}

// JobStatus reads the journal of runID on node and tells how job is doing.
func (e *Executor) JobStatus(ctx context.Context, node, runID, job string) (JobStatus, error) {
	if !jobNameRE.MatchString(job) {
		return JobStatus{}, fmt.Errorf("job name %q may only hold letters, digits, '.', '_' and '-'", job)
	}
	out, err := e.readJournal(ctx, node, runID, job)
	if err != nil {
		return JobStatus{}, err
	}
	first, rest, _ := bytes.Cut(out, []byte("\n"))
	var probe struct {
		Started, Alive bool
		LogTail        []string `json:"logTail"`
	}
	if err := json.Unmarshal(first, &probe); err != nil {
		return JobStatus{}, fmt.Errorf("reading the status of job %s on node %s: unexpected output %q", job, node, first)
	}
	st := jobStatus(job, probe.Started, probe.Alive, parseJournal(rest))
	st.LogTail = probe.LogTail
	return st, nil
}

func jobStatus(job string, started, alive bool, entries []JournalEntry) JobStatus {
	st := JobStatus{Job: job, State: JobNotStarted}
	for _, en := range entries {
		if en.Job == job {
			st.Entries = append(st.Entries, en)
		}
	}
	for i := len(st.Entries) - 1; i >= 0; i-- {
		en := st.Entries[i]
		if en.Phase == "exited" && en.ExitCode != nil {
			st.ExitCode, st.State = *en.ExitCode, JobFailed
			if *en.ExitCode == 0 {
				st.State = JobSucceeded
			}
			return st
		}
		if en.Phase == "started" {
			break
		}
	}
	switch {
	case alive:
		st.State = JobRunning
	case started || len(st.Entries) > 0:
		st.State = JobLost
	}
	return st
}

func (e *Executor) readJournal(ctx context.Context, node, runID, job string) ([]byte, error) {
	if !jobNameRE.MatchString(runID) {
		return nil, fmt.Errorf("run id %q may only hold letters, digits, '.', '_' and '-'", runID)
	}
	env := map[string]string{"CRIMIG_RUN_ID": runID}
	if job != "" {
		env["CRIMIG_JOB"] = job
	}
	res, err := e.run(ctx, node, hostscripts.Get(hostscripts.JournalRead), env, nil, true)
	if err != nil {
		return nil, fmt.Errorf("reading the journal of run %s on node %s: %w", runID, node, err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("reading the journal of run %s on node %s failed (exit %d): %s",
			runID, node, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return res.Stdout, nil
}

// parseJournal decodes JSON lines, skipping lines that do not decode: a job
// killed mid-write leaves a torn last line.
func parseJournal(out []byte) []JournalEntry {
	var entries []JournalEntry
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var en JournalEntry
		if json.Unmarshal(line, &en) == nil {
			entries = append(entries, en)
		}
	}
	return entries
}
