// Package report writes the evidence bundle of a migration run
// (`kubectl crimig migrate --report DIR`): for each node the plan, the host
// files before and after with their diffs, the swap job's journal, the step
// timings and the smoke test's results, and a summary.md for the whole run
// that change-management records can keep.
//
// The bundle never holds secrets: the plan and the journal carry none,
// private keys and credential files are left out by the host script (their
// checksums remain), and registry auths are never read.
package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
	"github.com/crimig/kubectl-crimig/pkg/redact"
)

// Host is what the bundle reads from a node's host.
type Host interface {
	Run(ctx context.Context, node, script string, env map[string]string) (nodeexec.Result, error)
	JobStatus(ctx context.Context, node, runID, job string) (nodeexec.JobStatus, error)
}

// Run describes the invocation the bundle is for.
type Run struct {
	Command  []string
	Identity string
	Target   string
}

// Bundle collects a run's evidence and writes it under Dir.
type Bundle struct {
	Dir string
	run Run
	now func() time.Time

	mu      sync.Mutex
	started time.Time
	plans   map[string]*inspect.NodePlan
	events  map[string][]migrate.Event // by node; "" holds fleet events
	order   []string
}

// New prepares an empty or new directory for a bundle. It refuses a
// directory that holds files: each run writes its own bundle.
func New(dir string, r Run) (*Bundle, error) {
	if dir == "" {
		return nil, errors.New("--report needs a directory")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return nil, fmt.Errorf("--report directory %s is not empty; give each run a new directory so that no evidence is overwritten", dir)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("--report: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("--report: %w", err)
	}
	r.Command = redact.Args(r.Command)
	b := &Bundle{Dir: dir, run: r, now: time.Now, plans: map[string]*inspect.NodePlan{}, events: map[string][]migrate.Event{}}
	b.started = b.now()
	return b, nil
}

// Sink records every event, then passes it on to next.
func (b *Bundle) Sink(next migrate.Sink) migrate.Sink {
	return func(ev migrate.Event) {
		b.mu.Lock()
		if _, seen := b.events[ev.Node]; !seen && ev.Node != "" {
			b.order = append(b.order, ev.Node)
		}
		b.events[ev.Node] = append(b.events[ev.Node], ev)
		b.mu.Unlock()
		if next != nil {
			next(ev)
		}
	}
}

// Preflight records the plan each node was migrated with.
func (b *Bundle) Preflight(next migrate.PreflightFunc) migrate.PreflightFunc {
	return func(ctx context.Context, node string) (*inspect.Plan, error) {
		p, err := next(ctx, node)
		if err == nil && p != nil {
			b.mu.Lock()
			for i := range p.Nodes {
				if p.Nodes[i].Name == node {
					b.plans[node] = &p.Nodes[i]
				}
			}
			b.mu.Unlock()
		}
		return p, err
	}
}

// NodeReport is one node's entry in summary.md and summary.json.
type NodeReport struct {
	Node         string                `json:"node"`
	RunID        string                `json:"runId,omitempty"`
	From         string                `json:"from,omitempty"`
	To           string                `json:"to,omitempty"`
	Phase        string                `json:"phase,omitempty"`
	Error        string                `json:"error,omitempty"`
	Warnings     []string              `json:"warnings,omitempty"`
	Runtime      string                `json:"runtime,omitempty"`
	Steps        []StepTiming          `json:"steps"`
	Total        float64               `json:"totalSeconds"`
	Verification *migrate.Verification `json:"verification,omitempty"`
	FilesChanged []string              `json:"filesChanged,omitempty"`
	FilesCreated []string              `json:"filesCreated,omitempty"`
	Withheld     []string              `json:"withheld,omitempty"`
	Problems     []string              `json:"problems,omitempty"`

	swapJob string
}

// StepTiming is one step as the events timed it.
type StepTiming struct {
	Step    string    `json:"step"`
	Result  string    `json:"result"`
	Started time.Time `json:"started,omitzero"`
	Seconds float64   `json:"seconds"`
}

// Finish collects what each node's host and Node object hold now and
// writes the whole bundle. runErr is the run's outcome. It gathers as much
// as it can and reports what it could not in the bundle itself.
func (b *Bundle) Finish(ctx context.Context, client kubernetes.Interface, host Host, runErr error) error {
	b.mu.Lock()
	nodes := append([]string(nil), b.order...)
	b.mu.Unlock()
	var reports []NodeReport
	for _, node := range nodes {
		reports = append(reports, b.collectNode(ctx, client, host, node))
	}
	return b.writeSummary(reports, runErr)
}

func (b *Bundle) collectNode(ctx context.Context, client kubernetes.Interface, host Host, node string) NodeReport {
	dir := filepath.Join(b.Dir, safeName(node))
	r := NodeReport{Node: node}
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	if err := os.MkdirAll(dir, 0o750); err != nil {
		problem("%v", err)
		return r
	}
	b.mu.Lock()
	events := append([]migrate.Event(nil), b.events[node]...)
	np := b.plans[node]
	b.mu.Unlock()

	if np != nil {
		if err := writeJSON(filepath.Join(dir, "plan.json"), np); err != nil {
			problem("plan: %v", err)
		}
	} else {
		problem("no plan: this run resumed after the preflight, or stopped before it")
	}
	if err := writeJSONLines(filepath.Join(dir, "events.jsonl"), events); err != nil {
		problem("events: %v", err)
	}
	r.Steps, r.Total = timings(events)
	for _, ev := range events {
		if ev.Phase == migrate.PhaseFailed && ev.Err != "" {
			r.Error = ev.Err
		}
	}

	n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		problem("reading the Node: %v", err)
	} else {
		r.Runtime = n.Status.NodeInfo.ContainerRuntimeVersion
		b.addState(&r, n)
	}
	if err := writeJSON(filepath.Join(dir, "timings.json"), map[string]any{"steps": r.Steps, "totalSeconds": r.Total}); err != nil {
		problem("timings: %v", err)
	}
	if r.Verification != nil {
		if err := writeJSON(filepath.Join(dir, "verification.json"), r.Verification); err != nil {
			problem("verification: %v", err)
		}
	}
	if r.RunID == "" {
		problem("the node has no crimig state: nothing ran on its host")
		return r
	}
	js, err := host.JobStatus(ctx, node, r.RunID, r.swapJob)
	switch {
	case err != nil:
		problem("reading the swap journal: %v", err)
	case js.State == nodeexec.JobNotStarted:
		problem("the swap job never started on this host")
	default:
		if err := writeJSONLines(filepath.Join(dir, "journal.jsonl"), js.Entries); err != nil {
			problem("journal: %v", err)
		}
	}
	if err := b.collectFiles(ctx, host, node, r.RunID, dir, &r); err != nil {
		problem("host files: %v", err)
	}
	return r
}

func (b *Bundle) addState(r *NodeReport, n *corev1.Node) {
	st, err := migrate.ReadState(n)
	if err != nil || st == nil {
		return
	}
	r.RunID, r.From, r.To, r.Phase, r.Verification = st.RunID, st.From, st.To, st.Phase, st.Verification
	r.Warnings = st.Warnings
	r.swapJob = st.SwapJob()
	if r.Error == "" {
		r.Error = st.LastError
	}
}

// collectFiles writes files/before, files/after and files.diff.
func (b *Bundle) collectFiles(ctx context.Context, host Host, node, runID, dir string, r *NodeReport) error {
	res, err := host.Run(ctx, node, hostscripts.Get(hostscripts.ReportFiles), map[string]string{"CRIMIG_RUN_ID": runID})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s exited %d: %s", hostscripts.ReportFiles, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	sec, err := splitSections(res.Stdout)
	if err != nil {
		return err
	}
	before, err := untarBase64(sec["before"])
	if err != nil {
		return fmt.Errorf("before: %w", err)
	}
	after, err := untarBase64(sec["after"])
	if err != nil {
		return fmt.Errorf("after: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.tsv"), sec["manifest"], 0o640); err != nil {
		return err
	}
	var diffs strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(sec["manifest"])), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		p := f[0]
		b0, hadBefore := before[p]
		a0, hasAfter := after[p]
		if withheld(p) {
			r.Withheld = append(r.Withheld, p)
			continue
		}
		if hadBefore {
			if err := writeUnder(filepath.Join(dir, "files", "before"), p, b0); err != nil {
				return err
			}
		}
		if hasAfter {
			if err := writeUnder(filepath.Join(dir, "files", "after"), p, a0); err != nil {
				return err
			}
		}
		if d := hostconf.UnifiedDiff(p, b0, a0); d != "" && !bytes.Equal(b0, a0) {
			diffs.WriteString(d)
			if f[1] == "absent" {
				r.FilesCreated = append(r.FilesCreated, p)
			} else {
				r.FilesChanged = append(r.FilesChanged, p)
			}
		}
	}
	return os.WriteFile(filepath.Join(dir, "files.diff"), []byte(diffs.String()), 0o640)
}

// withheld mirrors report-files.sh: private keys and credential files stay
// out of the bundle.
func withheld(p string) bool {
	base := path.Base(p)
	return strings.HasSuffix(p, ".key") || (strings.Contains(base, "auth") && strings.HasSuffix(base, ".json")) ||
		strings.HasSuffix(p, "/.docker/config.json")
}

// splitSections cuts the script's output at its "--- name" marker lines.
func splitSections(out []byte) (map[string][]byte, error) {
	sec := map[string][]byte{}
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "--- "); ok && (name == "manifest" || name == "before" || name == "after") {
			cur = name
			sec[cur] = []byte{}
			continue
		}
		if cur == "" {
			return nil, fmt.Errorf("unexpected output before the manifest: %q", line)
		}
		sec[cur] = append(append(sec[cur], line...), '\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, name := range []string{"manifest", "before", "after"} {
		if _, ok := sec[name]; !ok {
			return nil, fmt.Errorf("the %s section is missing", name)
		}
	}
	return sec, nil
}

// timings turns a node's events into per-step durations and the total.
func timings(events []migrate.Event) ([]StepTiming, float64) {
	var steps []StepTiming
	idx := map[string]int{}
	var first, last time.Time
	for _, ev := range events {
		if first.IsZero() || ev.Time.Before(first) {
			first = ev.Time
		}
		if ev.Time.After(last) {
			last = ev.Time
		}
		if ev.Step == "" {
			continue
		}
		i, ok := idx[ev.Step]
		if !ok {
			i = len(steps)
			idx[ev.Step] = i
			steps = append(steps, StepTiming{Step: ev.Step})
		}
		s := &steps[i]
		switch ev.Phase {
		case migrate.PhaseStarted:
			s.Started, s.Result = ev.Time, "running"
		case migrate.PhaseDone, migrate.PhaseFailed:
			if !s.Started.IsZero() {
				s.Seconds = ev.Time.Sub(s.Started).Seconds()
			}
			if s.Result != "skipped" {
				s.Result = string(ev.Phase)
			}
		case migrate.PhaseSkipped:
			s.Result = "skipped"
		}
	}
	total := 0.0
	if !first.IsZero() {
		total = last.Sub(first).Seconds()
	}
	return steps, total
}

func writeUnder(root, hostPath string, data []byte) error {
	p := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(hostPath, "/")))
	if !strings.HasPrefix(p, root+string(filepath.Separator)) {
		return fmt.Errorf("refusing host path %q", hostPath)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o640)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o640)
}

func writeJSONLines[T any](path string, items []T) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o640)
}

// safeName keeps a node name usable as a directory name.
func safeName(node string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, node)
}
