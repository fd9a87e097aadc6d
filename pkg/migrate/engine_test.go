package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/google/go-cmp/cmp"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// fakeHost records what the engine asks of the host, and plays the swap
// job: starting it flips the Node to CRI-O, as the simulator would.
type fakeHost struct {
	mu       sync.Mutex
	client   *fake.Clientset
	calls    []string
	uploads  map[string]string
	jobs     map[string]nodeexec.JobState
	failSwap bool
	failStep string
	// failStderr overrides what the failing step prints.
	failStderr string
	// envs holds the environment each script last ran with, by script name.
	envs map[string]map[string]string
	// journals overrides the entries a failed job reports, by node/job.
	journals map[string][]nodeexec.JournalEntry
	logTail  []string // the failed swap job's log
	// lost, when set, is the journal of a swap job that the reboot it
	// asked for killed: the node comes back with a new boot id.
	lost []nodeexec.JournalEntry
	// sent counts the bytes streamed by Upload.
	sent int
	// stdout is what a script (by name) prints.
	stdout map[string]string
}

func (h *fakeHost) record(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, s)
}

func (h *fakeHost) Run(_ context.Context, _ string, script string, env map[string]string) (nodeexec.Result, error) {
	name := scriptName(script)
	h.record("run " + name)
	h.mu.Lock()
	if h.envs == nil {
		h.envs = map[string]map[string]string{}
	}
	h.envs[name] = env
	h.mu.Unlock()
	if name == h.failStep {
		stderr := "no repo provides cri-o\n"
		if h.failStderr != "" {
			stderr = h.failStderr
		}
		return nodeexec.Result{ExitCode: 3, Stderr: []byte(stderr)}, nil
	}
	if name == hostscripts.ReuseFile {
		return h.reuse(env), nil
	}
	if out, ok := h.stdout[name]; ok {
		return nodeexec.Result{Stdout: []byte(out)}, nil
	}
	return nodeexec.Result{Stdout: []byte(resultOf(name, env))}, nil
}

// resultOf is the result line a script prints when all went well.
func resultOf(name string, env map[string]string) string {
	switch name {
	case hostscripts.Backup:
		var files []string
		for _, p := range strings.Split(env["CRIMIG_BACKUP_PATHS"], "\n") {
			files = append(files, fmt.Sprintf(`{"path":%q,"absent":true}`, p))
		}
		return `{"dir":"/var/lib/crimig/` + env["CRIMIG_RUN_ID"] + `/backup","files":[` + strings.Join(files, ",") + "]}\n"
	case hostscripts.Kernel:
		return `{"changed":[],"modules":["overlay","br_netfilter"],"present":["overlay","br_netfilter"]}` + "\n"
	case hostscripts.Install:
		return `{"installed":true,"method":"pkgs","binary":"/usr/bin/crio","version":"1.29.1","podman":"installed","files":[]}` + "\n"
	}
	return ""
}

// reuse plays reuse-file.sh: any file uploaded before with that sha256.
func (h *fakeHost) reuse(env map[string]string) nodeexec.Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p, content := range h.uploads {
		if sum := sha256.Sum256([]byte(content)); hex.EncodeToString(sum[:]) == env["CRIMIG_SHA256"] {
			h.uploads[env["CRIMIG_DEST"]] = content
			return nodeexec.Result{Stdout: []byte(`{"found":true,"from":"` + p + `"}` + "\n")}
		}
	}
	return nodeexec.Result{Stdout: []byte(`{"found":false}` + "\n")}
}

func scriptName(script string) string {
	for _, n := range []string{hostscripts.Backup, hostscripts.Kernel, hostscripts.Install, hostscripts.Swap, hostscripts.ReuseFile, hostscripts.Cleanup} {
		if script == hostscripts.Get(n) {
			return n
		}
	}
	return "other"
}

func (h *fakeHost) Upload(_ context.Context, _ string, path string, r io.Reader, size int64, _ os.FileMode) error {
	b, err := io.ReadAll(r)
	if err != nil || int64(len(b)) != size {
		return errors.New("short upload")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.uploads[path] = string(b)
	h.sent += len(b)
	return nil
}

func (h *fakeHost) StartDetached(ctx context.Context, node, runID, job, script string, env map[string]string) error {
	h.record("detach " + job + " mode=" + env["CRIMIG_MODE"])
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.envs == nil {
		h.envs = map[string]map[string]string{}
	}
	h.envs["job "+job] = env
	runtime := "cri-o://1.29.1"
	if env["CRIMIG_MODE"] == "rollback" || h.failSwap {
		runtime = "docker://20.10.24"
	}
	h.jobs[node+"/"+job] = nodeexec.JobSucceeded
	if h.failSwap {
		h.jobs[node+"/"+job] = nodeexec.JobFailed
	}
	n, err := h.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if h.lost != nil && env["CRIMIG_REBOOT"] == "1" {
		h.jobs[node+"/"+job] = nodeexec.JobLost
		n.Status.NodeInfo.BootID += "-rebooted"
	}
	n.Status.NodeInfo.ContainerRuntimeVersion = runtime
	_, err = h.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	return err
}

func (h *fakeHost) JobStatus(_ context.Context, node, _, job string) (nodeexec.JobStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.jobs[node+"/"+job]
	if !ok {
		return nodeexec.JobStatus{Job: job, State: nodeexec.JobNotStarted}, nil
	}
	js := nodeexec.JobStatus{Job: job, State: st}
	if en, ok := h.journals[node+"/"+job]; ok {
		js.Entries = en
	} else if st == nodeexec.JobFailed {
		js.Entries = []nodeexec.JournalEntry{{Step: "start-runtime", Phase: "failed", Message: "crio did not start"}, {Step: "swap", Phase: "rolled-back"}}
		js.LogTail = h.logTail
	}
	if st == nodeexec.JobLost {
		js.Entries = h.lost
	}
	return js, nil
}

func testNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Annotations: map[string]string{inspect.AnnotationCRISocket: "/var/run/dockershim.sock"}},
		Status: corev1.NodeStatus{
			NodeInfo:   corev1.NodeSystemInfo{ContainerRuntimeVersion: "docker://20.10.24", KubeletVersion: "v1.23.3", BootID: "b1"},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
}

func newTestEngine(t *testing.T) (*Engine, *fakeHost, *[]Event) {
	t.Helper()
	client := fake.NewClientset(testNode())
	host := &fakeHost{client: client, uploads: map[string]string{}, jobs: map[string]nodeexec.JobState{}}
	var mu sync.Mutex
	events := &[]Event{}
	e := &Engine{
		Client: client, Host: host, LockNamespace: "crimig-system", Identity: "me@test/run",
		Sink:     func(ev Event) { mu.Lock(); defer mu.Unlock(); *events = append(*events, ev) },
		NewRunID: func() string { return "run-1" },
		Preflight: func(ctx context.Context, node string) (*inspect.Plan, error) {
			return &inspect.Plan{Nodes: []inspect.NodePlan{{
				NodeSummary: inspect.NodeSummary{Name: node, Runtime: "docker", KubeletVersion: "v1.23.3"}, Eligible: true, TargetVersion: "1.23",
				Files: []inspect.PlanFile{{Path: "/etc/crio/crio.conf.d/90-crimig.conf", Mode: "0644", Changed: true, Content: "[crio.runtime]\n"}},
			}}}, nil
		},
		Options: Options{Target: hostconf.TargetCRIO, Source: "pkgs", Podman: true, SwapTimeout: time.Minute,
			Drain: DrainOptions{IgnoreDaemonSets: true, Timeout: time.Minute}},
	}
	return e, host, events
}

func nodeState(t *testing.T, e *Engine) (*corev1.Node, *State) {
	t.Helper()
	n, err := e.Client.CoreV1().Nodes().Get(context.Background(), "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(n)
	if err != nil {
		t.Fatal(err)
	}
	return n, st
}

func TestMigrateRunsEveryStepInOrder(t *testing.T) {
	e, host, _ := newTestEngine(t)
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"run backup.sh", "run kernel.sh", "run install.sh", "detach swap mode=swap"}
	if strings.Join(host.calls, ",") != strings.Join(want, ",") {
		t.Errorf("host calls %v, want %v", host.calls, want)
	}
	if got := host.uploads["/var/lib/crimig/run-1/staged/etc/crio/crio.conf.d/90-crimig.conf"]; got != "[crio.runtime]\n" {
		t.Errorf("staged file = %q", got)
	}
	n, st := nodeState(t, e)
	if st.Phase != StateSucceeded || st.Step != inspect.StepUncordon || !st.CordonedByCrimig {
		t.Errorf("state %+v", st)
	}
	if n.Spec.Unschedulable {
		t.Error("node left cordoned")
	}
	if got := n.Annotations[inspect.AnnotationCRISocket]; got != "/var/run/crio/crio.sock" {
		t.Errorf("cri-socket annotation %q", got)
	}
	if _, err := e.Client.CoordinationV1().Leases("crimig-system").Get(context.Background(), LeaseName("node-1"), metav1.GetOptions{}); err == nil {
		t.Error("lease not released")
	}
	// A second run has nothing to do.
	host.calls = nil
	if err := e.Migrate(context.Background(), "node-1"); err != nil || len(host.calls) != 0 {
		t.Errorf("second run: err=%v calls=%v", err, host.calls)
	}
}

func TestFailedStepIsRecordedAndResumed(t *testing.T) {
	e, host, _ := newTestEngine(t)
	host.failStep = "install.sh"
	err := e.Migrate(context.Background(), "node-1")
	if err == nil || !strings.Contains(err.Error(), "no repo provides cri-o") {
		t.Fatalf("err = %v", err)
	}
	_, st := nodeState(t, e)
	if st.Phase != StateFailed || st.Step != inspect.StepKernel || st.FailedStep != inspect.StepInstall ||
		!strings.Contains(st.LastError, "install.sh exited 3") {
		t.Errorf("state %+v", st)
	}
	host.failStep, host.calls = "", nil
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	if want := "run install.sh,detach swap mode=swap"; strings.Join(host.calls, ",") != want {
		t.Errorf("resumed calls %v, want %s", host.calls, want)
	}
	if _, st := nodeState(t, e); st.RunID != "run-1" || st.Phase != StateSucceeded || st.FailedStep != "" {
		t.Errorf("resume must keep the run id and clear the failed step: %+v", st)
	}
}

func TestSwapFailureReportsTheHostRollback(t *testing.T) {
	e, host, _ := newTestEngine(t)
	host.failSwap = true
	err := e.Migrate(context.Background(), "node-1")
	if err == nil || !strings.Contains(err.Error(), "failed at start-runtime: crio did not start") ||
		!strings.Contains(err.Error(), "runs docker again") {
		t.Fatalf("err = %v", err)
	}
}

// A job that fails says why in its log more often than in its journal (a
// shell error, a missing parameter): the error quotes the log's end.
func TestSwapFailureQuotesTheJobLog(t *testing.T) {
	e, host, _ := newTestEngine(t)
	host.failSwap = true
	host.logTail = []string{"+ systemctl restart crio", "Job for crio.service failed."}
	err := e.Migrate(context.Background(), "node-1")
	want := "; the last lines of /var/lib/crimig/run-1/jobs/swap.log on the host:\n  + systemctl restart crio\n  Job for crio.service failed."
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("err = %v\nwant it to end with %q", err, want)
	}
}

// systemctl reboot stops the swap job's unit at once, so the job may never
// journal its end: a job lost after it asked for the reboot, with the node
// back Ready on the target runtime and a new boot id, succeeded. A job lost
// before that did not.
func TestSwapJobKilledByItsRebootSucceeds(t *testing.T) {
	for _, c := range []struct {
		name    string
		journal []nodeexec.JournalEntry
		wantErr string
	}{
		{"lost after asking for the reboot", []nodeexec.JournalEntry{{Step: "start-kubelet", Phase: "done"}, {Step: "reboot", Phase: "started"}}, ""},
		{"lost before", []nodeexec.JournalEntry{{Step: "start-kubelet", Phase: "started"}}, "the swap job lost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, host, _ := newTestEngine(t)
			e.Options.Reboot = true
			host.lost = c.journal
			err := e.Migrate(context.Background(), "node-1")
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("migrate: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestRollbackAfterMigration(t *testing.T) {
	e, host, _ := newTestEngine(t)
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	if err := e.Rollback(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	n, st := nodeState(t, e)
	if st.Phase != StateRolledBack || n.Annotations[inspect.AnnotationCRISocket] != "/var/run/dockershim.sock" ||
		n.Status.NodeInfo.ContainerRuntimeVersion != "docker://20.10.24" {
		t.Errorf("after rollback: state %+v, node %+v", st, n.Status.NodeInfo)
	}
	if n.Spec.Unschedulable {
		t.Error("rollback left the node cordoned")
	}
	if host.calls[len(host.calls)-1] != "detach rollback mode=rollback" {
		t.Errorf("calls %v", host.calls)
	}
}

func TestRollbackWithoutStateIsAClearError(t *testing.T) {
	e, _, _ := newTestEngine(t)
	err := e.Rollback(context.Background(), "node-1")
	if err == nil || !strings.Contains(err.Error(), "nothing to roll back") {
		t.Errorf("err = %v", err)
	}
}

func TestLockHeldByAnotherRun(t *testing.T) {
	e, host, _ := newTestEngine(t)
	now := metav1.NewMicroTime(time.Now())
	other, dur := "ops@bastion/run-0", int32(60)
	_, err := e.Client.CoordinationV1().Leases("crimig-system").Create(context.Background(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: LeaseName("node-1"), Namespace: "crimig-system"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &other, LeaseDurationSeconds: &dur, RenewTime: &now},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Migrate(context.Background(), "node-1")
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Holder != other || len(host.calls) != 0 {
		t.Fatalf("err = %v, calls %v", err, host.calls)
	}
	// An expired lease is taken over.
	e.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatalf("takeover: %v", err)
	}
}

func TestPreflightBlockers(t *testing.T) {
	e, host, _ := newTestEngine(t)
	e.Preflight = func(ctx context.Context, node string) (*inspect.Plan, error) {
		return &inspect.Plan{
			Findings: []inspect.Finding{{ID: inspect.IDDockerSocket, Severity: inspect.Blocker, Subject: "DaemonSet/ci/builder", Nodes: []string{node}, Message: "mounts docker.sock"}},
			Nodes:    []inspect.NodePlan{{NodeSummary: inspect.NodeSummary{Name: node, Runtime: "docker"}, Eligible: true}},
		}, nil
	}
	err := e.Migrate(context.Background(), "node-1")
	if err == nil || !strings.Contains(err.Error(), "CRIMIG010 DaemonSet/ci/builder") || len(host.calls) != 0 {
		t.Fatalf("err = %v, calls = %v", err, host.calls)
	}
	if n, _ := nodeState(t, e); n.Spec.Unschedulable {
		t.Error("a refused preflight must not cordon")
	}
	e.Options.Accept = map[string]bool{inspect.IDDockerSocket: true}
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatalf("accepted: %v", err)
	}
}

// The kubelet-config ConfigMap takes the node's non-runtime edits at once,
// and its cgroupDriver only when no other node would be broken by it.
func TestKubeletConfigMapCgroupDriverOnlyWhenEveryNodeAgrees(t *testing.T) {
	succeeded := func(driver string) string {
		b, _ := json.Marshal(State{RunID: "run-0", From: "docker", To: "cri-o", Phase: StateSucceeded, CgroupDriver: driver})
		return string(b)
	}
	for _, tc := range []struct {
		name, runtime, state string
		want, why            string // the ConfigMap's cgroupDriver after the run; the event saying why it was kept
	}{
		{"docker node left", "docker://20.10.24", "", "cgroupfs", "once the last docker node is migrated; node-2 still on docker"},
		{"every node on systemd", "cri-o://1.23.0", succeeded("systemd"), "systemd", ""},
		{"another node on cgroupfs", "cri-o://1.23.0", succeeded("cgroupfs"), "cgroupfs", "node-2 (cgroupfs) use another driver"},
		{"a node crimig did not migrate", "containerd://1.7.0", "", "cgroupfs", "crimig did not migrate node-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, events := newTestEngine(t)
			ctx := context.Background()
			other := testNode()
			other.Name = "node-2"
			other.Status.NodeInfo.ContainerRuntimeVersion = tc.runtime
			if tc.state != "" {
				other.Annotations[AnnotationState] = tc.state
			}
			if _, err := e.Client.CoreV1().Nodes().Create(ctx, other, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubelet-config-1.23"},
				Data: map[string]string{"kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: cgroupfs\n"}}
			if _, err := e.Client.CoreV1().ConfigMaps("kube-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			base := e.Preflight
			e.Preflight = func(ctx context.Context, node string) (*inspect.Plan, error) {
				p, err := base(ctx, node)
				p.Nodes[0].Changes = &hostconf.Output{CgroupDriver: "systemd", KubeletLogMax: &hostconf.LogMax{MaxSize: "100Mi", MaxFiles: 3}}
				return p, err
			}
			if err := e.Migrate(ctx, "node-1"); err != nil {
				t.Fatal(err)
			}
			got, err := e.Client.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubelet-config-1.23", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			k := got.Data["kubelet"]
			for _, want := range []string{"runtimeRequestTimeout: 5m", "containerLogMaxSize: 100Mi", "containerLogMaxFiles: 3", "cgroupDriver: " + tc.want} {
				if !strings.Contains(k, want) {
					t.Errorf("ConfigMap lacks %q:\n%s", want, k)
				}
			}
			var said string
			for _, ev := range *events {
				if ev.Step == inspect.StepKubeletConfig && strings.Contains(ev.Message, "left as it is") {
					said = ev.Message
				}
			}
			if tc.why == "" && said != "" || !strings.Contains(said, tc.why) {
				t.Errorf("event %q, want one saying %q", said, tc.why)
			}
			if _, st := nodeState(t, e); st.CgroupDriver != "systemd" || st.KubeletLogMax == nil || st.KubeletLogMax.MaxSize != "100Mi" {
				t.Errorf("state records cgroupDriver %q, log max %+v", st.CgroupDriver, st.KubeletLogMax)
			}
		})
	}
}

// A run resumed after the swap cannot plan the node any more (it left
// docker), so the ConfigMap edits come from what the state recorded.
func TestKubeletConfigMapEditsSurviveAResumeAfterTheSwap(t *testing.T) {
	e, host, _ := newTestEngine(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubelet-config"},
		Data: map[string]string{"kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: cgroupfs\n"}}
	if _, err := e.Client.CoreV1().ConfigMaps("kube-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	n, err := e.Client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(State{RunID: "run-1", From: "docker", To: "cri-o", Phase: StateRunning, Step: inspect.StepAnnotate,
		CordonedByCrimig: true, CgroupDriver: "systemd", KubeletLogMax: &hostconf.LogMax{MaxSize: "50Mi", MaxFiles: 4}})
	n.Annotations[AnnotationState] = string(b)
	n.Spec.Unschedulable = true
	n.Status.NodeInfo.ContainerRuntimeVersion = "cri-o://1.23.0"
	if _, err := e.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.Preflight = func(context.Context, string) (*inspect.Plan, error) {
		return nil, errors.New("the node left docker: no plan")
	}
	if err := e.Migrate(ctx, "node-1"); err != nil {
		t.Fatalf("resume: %v (host calls %v)", err, host.calls)
	}
	got, err := e.Client.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubelet-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"runtimeRequestTimeout: 5m", "containerLogMaxSize: 50Mi", "containerLogMaxFiles: 4", "cgroupDriver: systemd"} {
		if !strings.Contains(got.Data["kubelet"], want) {
			t.Errorf("ConfigMap lacks %q:\n%s", want, got.Data["kubelet"])
		}
	}
}

func TestDrainSkipsCrimigPodsAndHonoursForce(t *testing.T) {
	e, _, _ := newTestEngine(t)
	ctx := context.Background()
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "crimig-system", Name: "crimig-node-1-x", Labels: map[string]string{nodeexec.LabelManagedBy: nodeexec.ManagedBy}},
			Spec: corev1.PodSpec{NodeName: "node-1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "bare"},
			Spec: corev1.PodSpec{NodeName: "node-1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}},
	} {
		if _, err := e.Client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := e.Migrate(ctx, "node-1")
	if err == nil || !strings.Contains(err.Error(), "default/bare") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("without --force: %v", err)
	}
	var total, done int64
	_, errs := e.drainHelper(ctx, "node-1", &total, &done).GetPodsForDeletion("node-1")
	if len(errs) == 0 {
		t.Fatal("the bare pod must be refused without --force")
	}
	e.Options.Drain.Force = true
	list, errs := e.drainHelper(ctx, "node-1", &total, &done).GetPodsForDeletion("node-1")
	if len(errs) != 0 {
		t.Fatalf("with --force: %v", errs)
	}
	var names []string
	for _, p := range list.Pods() {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "bare" {
		t.Errorf("pods to delete %v; crimig's own pod must be kept", names)
	}
}

func TestRefusedRollbackLeavesTheNodeAsItWas(t *testing.T) {
	e, host, _ := newTestEngine(t)
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "default"}, Spec: corev1.PodSpec{NodeName: "node-1"}}
	if _, err := e.Client.CoreV1().Pods("default").Create(context.Background(), bare, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, was := nodeState(t, e)
	host.calls = nil
	err := e.Rollback(context.Background(), "node-1")
	if err == nil || !strings.Contains(err.Error(), "rollback refused") || !strings.Contains(err.Error(), "--force") ||
		!strings.Contains(err.Error(), "uncordoned again") {
		t.Fatalf("err = %v", err)
	}
	n, st := nodeState(t, e)
	if n.Spec.Unschedulable {
		t.Error("a refused rollback left the node cordoned")
	}
	st.Updated, was.Updated = time.Time{}, time.Time{}
	if diff := cmp.Diff(was, st); diff != "" {
		t.Errorf("a refused rollback changed the state (-before +after):\n%s", diff)
	}
	if len(host.calls) != 0 {
		t.Errorf("a refused rollback touched the host: %v", host.calls)
	}
}

func TestCleanupSaysWhatWasRemovedAndWhatWasLeft(t *testing.T) {
	e, host, events := newTestEngine(t)
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	host.stdout = map[string]string{hostscripts.Cleanup: `{"packages":["docker-ce"],"data":[],"removed":["/etc/systemd/system/cri-docker.service"],` +
		`"left":["containerd: buildkit.service needs it"]}` + "\n"}
	*events = nil
	if _, err := e.Cleanup(context.Background(), "node-1", false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range *events {
		got = append(got, string(ev.Phase)+" "+ev.Message)
	}
	want := []string{"started ", "info removed /etc/systemd/system/cri-docker.service", "info left containerd: buildkit.service needs it",
		"done removed packages docker-ce; data none; 1 other item(s) removed, 1 left on purpose"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cleanup events (-want +got):\n%s", diff)
	}
}
