package report

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

func tarB64(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

type fakeHost struct {
	out     string
	journal []nodeexec.JournalEntry
	scripts []string
}

func (h *fakeHost) Run(_ context.Context, _ string, script string, env map[string]string) (nodeexec.Result, error) {
	h.scripts = append(h.scripts, env["CRIMIG_RUN_ID"])
	if script != hostscripts.Get(hostscripts.ReportFiles) {
		return nodeexec.Result{}, errors.New("unexpected script")
	}
	return nodeexec.Result{Stdout: []byte(h.out)}, nil
}

func (h *fakeHost) JobStatus(context.Context, string, string, string) (nodeexec.JobStatus, error) {
	return nodeexec.JobStatus{Job: "swap", State: nodeexec.JobSucceeded, Entries: h.journal}, nil
}

func TestBundle(t *testing.T) {
	st := migrate.State{RunID: "run-7", From: "docker", To: "cri-o", Phase: migrate.StateSucceeded,
		Warnings:     []string{"install: podman could not be installed"},
		Verification: &migrate.Verification{Pod: "crimig-smoke-node-1", Image: "busybox:1.36", PullSeconds: 1.2, Logs: true, Exec: true, LogFormat: "cri", LogFile: "/var/log/pods/x/smoke/0.log"}}
	raw, _ := json.Marshal(st)
	client := fake.NewClientset(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Annotations: map[string]string{migrate.AnnotationState: string(raw)}},
		Status:     corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{ContainerRuntimeVersion: "cri-o://1.29.1"}},
	})
	manifest := "/var/lib/kubelet/kubeadm-flags.env\tabc\t0644\n/etc/crio/crio.conf.d/90-crimig.conf\tabsent\t-\n" +
		"/etc/containers/certs.d/r.example/client.key\tabsent\t-\n/etc/default/kubelet\tdef\t0644\n"
	host := &fakeHost{
		out: "--- manifest\n" + manifest +
			"--- before\n" + tarB64(t, map[string]string{"var/lib/kubelet/kubeadm-flags.env": "ARGS=--container-runtime=docker\n", "etc/default/kubelet": "X=1\n"}) + "\n" +
			"--- after\n" + tarB64(t, map[string]string{"var/lib/kubelet/kubeadm-flags.env": "ARGS=\n", "etc/crio/crio.conf.d/90-crimig.conf": "[crio]\n", "etc/default/kubelet": "X=1\n"}) + "\n",
		journal: []nodeexec.JournalEntry{{Job: "swap", Step: "stop-docker", Phase: "done"}},
	}
	dir := filepath.Join(t.TempDir(), "evidence")
	b, err := New(dir, Run{Command: []string{"kubectl-crimig", "migrate", "node-1"}, Identity: "me@host/run", Target: "cri-o"})
	if err != nil {
		t.Fatal(err)
	}
	var passed []migrate.Event
	sink := b.Sink(func(ev migrate.Event) { passed = append(passed, ev) })
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for i, ev := range []migrate.Event{
		{Step: migrate.StepFleet, Phase: migrate.PhaseInfo, Message: "wave 1/1 (canary): [node-1]"},
		{Node: "node-1", Step: "drain", Phase: migrate.PhaseStarted},
		{Node: "node-1", Step: "drain", Phase: migrate.PhaseDone},
		{Node: "node-1", Step: "swap", Phase: migrate.PhaseStarted},
		{Node: "node-1", Step: "swap", Phase: migrate.PhaseDone},
		{Node: "node-1", Phase: migrate.PhaseDone},
	} {
		ev.Time = t0.Add(time.Duration(i) * 2 * time.Second)
		sink(ev)
	}
	if len(passed) != 6 {
		t.Errorf("events not passed on: %d", len(passed))
	}
	pre := b.Preflight(func(context.Context, string) (*inspect.Plan, error) {
		return &inspect.Plan{Nodes: []inspect.NodePlan{{NodeSummary: inspect.NodeSummary{Name: "node-1"}, TargetVersion: "1.29"}}}, nil
	})
	if _, err := pre(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Finish(context.Background(), client, host, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"summary.md", "summary.json", "node-1/plan.json", "node-1/events.jsonl", "node-1/timings.json",
		"node-1/journal.jsonl", "node-1/manifest.tsv", "node-1/files.diff", "node-1/verification.json",
		"node-1/files/before/var/lib/kubelet/kubeadm-flags.env", "node-1/files/after/var/lib/kubelet/kubeadm-flags.env",
		"node-1/files/after/etc/crio/crio.conf.d/90-crimig.conf"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	diff, _ := os.ReadFile(filepath.Join(dir, "node-1/files.diff"))
	if !strings.Contains(string(diff), "-ARGS=--container-runtime=docker") || !strings.Contains(string(diff), "+[crio]") ||
		strings.Contains(string(diff), "etc/default/kubelet") {
		t.Errorf("files.diff:\n%s", diff)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	for _, want := range []string{"| node-1 | run-7 | Succeeded | cri-o://1.29.1 | 8.0s | 2.0s | 2.0s | yes (cri logs) |",
		"wave 1/1 (canary): [node-1]", "Withheld from the bundle (private keys, credentials; checksums in manifest.tsv): `/etc/containers/certs.d/r.example/client.key`",
		"Files changed: `/var/lib/kubelet/kubeadm-flags.env`", "Files created: `/etc/crio/crio.conf.d/90-crimig.conf`", "| Command | `kubectl-crimig migrate node-1` |",
		"Warning: install: podman could not be installed"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	if len(host.scripts) != 1 || host.scripts[0] != "run-7" {
		t.Errorf("report-files ran for %v", host.scripts)
	}

	// A second run must not write into the same bundle.
	if _, err := New(dir, Run{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("reusing a bundle directory: %v", err)
	}
}

// The command line is recorded with kubectl's credential flags and URL
// user-info masked.
func TestBundleRedactsTheCommandLine(t *testing.T) {
	const secret = "S3CRET"
	dir := filepath.Join(t.TempDir(), "evidence")
	cmd := []string{"kubectl-crimig", "migrate", "node-1", "--token", secret, "--password=" + secret, "--username", secret,
		"--source", "repo=https://bob:" + secret + "@mirror.example/crio/"}
	b, err := New(dir, Run{Command: cmd})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Finish(context.Background(), fake.NewClientset(), &fakeHost{}, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"summary.md", "summary.json"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), secret) {
			t.Errorf("%s holds the secret:\n%s", f, data)
		}
		if f == "summary.md" && !strings.Contains(string(data), "--token <redacted>") {
			t.Errorf("%s should show that --token was given:\n%s", f, data)
		}
	}
}

func TestUntarRejectsHugeFiles(t *testing.T) {
	big := strings.Repeat("x", maxFileBytes+1)
	if _, err := untarBase64([]byte(tarB64(t, map[string]string{"var/log/huge": big}))); err == nil {
		t.Error("a file over the limit was accepted")
	}
	if _, err := splitSections([]byte("noise\n--- manifest\n")); err == nil {
		t.Error("output before the manifest was accepted")
	}
}
