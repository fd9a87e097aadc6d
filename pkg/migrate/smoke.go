package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// Verification is what the smoke test proved on the new runtime. It is
// kept in the state annotation and the report: names and timings only.
type Verification struct {
	Pod   string `json:"pod"`
	Image string `json:"image"`
	// PullSeconds is the time from creating the pod to its container running.
	PullSeconds float64 `json:"pullSeconds"`
	Logs        bool    `json:"logs"`
	Exec        bool    `json:"exec"`
	// LogFormat is the format of the container's log under /var/log/pods:
	// cri is what log agents must expect after the migration.
	LogFormat string    `json:"logFormat"`
	LogFile   string    `json:"logFile,omitempty"`
	Finished  time.Time `json:"finished"`
}

// DefaultSmokeTimeout bounds the wait for the smoke pod to run.
const DefaultSmokeTimeout = 3 * time.Minute

const smokeContainer = "smoke"

// smokeDeadline bounds the smoke pod's life if crimig dies mid-test.
const smokeDeadline = 15 * time.Minute

// nonRetryableWaiting are container waiting reasons that no wait cures.
var nonRetryableWaiting = map[string]bool{
	"ImageInspectError": true, "InvalidImageName": true, "ErrImageNeverPull": true, "CreateContainerConfigError": true,
}

// smokePodName is per node; a resumed run replaces a leftover pod.
func smokePodName(node string) string {
	name := "crimig-smoke-" + node
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-.")
	}
	return name
}

// smoke runs a pod pinned to the node on the new runtime and checks, as
// the seed's last step does by hand: the image pulls, the container runs
// and prints, `kubectl logs` and `kubectl exec` work, and the kubelet keeps
// the log in CRI format under /var/log/pods.
func (r *run) smoke(ctx context.Context) error {
	o := r.e.Options
	if o.SmokeImage == "" {
		r.e.emit(r.node, inspect.StepSmoke, PhaseSkipped, "no smoke-test image")
		return nil
	}
	pods := r.e.Client.CoreV1().Pods(r.e.LockNamespace)
	name := smokePodName(r.node)
	token := "crimig-smoke " + r.state.RunID
	if err := r.e.deleteSmokePod(ctx, name); err != nil {
		return err
	}
	start := time.Now()
	created, err := pods.Create(ctx, r.smokePod(name, token), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating the smoke-test pod %s/%s: %w", r.e.LockNamespace, name, err)
	}
	defer func() { _ = r.e.deleteSmokePod(context.WithoutCancel(ctx), name) }()
	r.e.emit(r.node, inspect.StepSmoke, PhaseInfo, fmt.Sprintf("pod %s/%s created with image %s", r.e.LockNamespace, name, o.SmokeImage))
	p, err := r.waitSmokeRunning(ctx, name)
	if err != nil {
		return err
	}
	v := &Verification{Pod: name, Image: o.SmokeImage, PullSeconds: time.Since(start).Round(10 * time.Millisecond).Seconds()}
	r.e.emitProgress(r.node, inspect.StepSmoke, PhaseProgress, fmt.Sprintf("image pulled and container running in %.1fs", v.PullSeconds), 0.4)

	if err := r.smokeLogs(ctx, name, token); err != nil {
		return err
	}
	v.Logs = true
	r.e.emitProgress(r.node, inspect.StepSmoke, PhaseProgress, "kubectl logs shows the container's output", 0.6)

	out, stderr, err := r.e.Host.ExecPod(ctx, r.node, r.e.LockNamespace, name, smokeContainer, []string{"echo", token})
	if err != nil {
		return fmt.Errorf("exec into the smoke-test pod failed: %w (%s)", err, strings.TrimSpace(string(stderr)))
	}
	if strings.TrimSpace(string(out)) != token {
		return fmt.Errorf("exec into the smoke-test pod printed %q, want %q", strings.TrimSpace(string(out)), token)
	}
	v.Exec = true
	r.e.emitProgress(r.node, inspect.StepSmoke, PhaseProgress, "kubectl exec works", 0.8)

	dir := path.Join("/var/log/pods", created.Namespace+"_"+created.Name+"_"+string(p.UID), smokeContainer)
	res, err := r.e.Host.Run(ctx, r.node, hostscripts.Get(hostscripts.PodLogCheck), map[string]string{"CRIMIG_POD_LOG_DIR": dir})
	if err != nil {
		return fmt.Errorf("checking the pod log format on the host: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("the kubelet keeps no log for the smoke-test pod: %s", lastLines(res.Stderr, 3))
	}
	var lc struct{ File, Format, Symlink string }
	if err := json.Unmarshal(bytes.TrimSpace(res.Stdout), &lc); err != nil {
		return fmt.Errorf("%s printed %q: %w", hostscripts.PodLogCheck, res.Stdout, err)
	}
	v.LogFormat, v.LogFile = lc.Format, lc.File
	if lc.Format != "cri" {
		where := ""
		if lc.Symlink != "" {
			where = " (a symlink to " + lc.Symlink + ")"
		}
		return fmt.Errorf("%s%s is in %s format, not CRI: the kubelet still runs the pod through docker", lc.File, where, lc.Format)
	}
	v.Finished = r.e.now()
	r.state.Verification = v
	r.e.emit(r.node, inspect.StepSmoke, PhaseInfo, fmt.Sprintf("verified: image %s pulled in %.1fs, logs and exec work, %s is in CRI format",
		v.Image, v.PullSeconds, v.LogFile))
	return nil
}

func (r *run) smokePod(name, token string) *corev1.Pod {
	var secrets []corev1.LocalObjectReference
	for _, s := range r.e.Options.SmokePullSecrets {
		secrets = append(secrets, corev1.LocalObjectReference{Name: s})
	}
	grace, deadline := int64(0), int64(smokeDeadline/time.Second)
	no := false
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: r.e.LockNamespace,
			Labels: map[string]string{
				nodeexec.LabelManagedBy:       nodeexec.ManagedBy,
				"app.kubernetes.io/component": "smoke-test",
				nodeexec.LabelNode:            r.node,
				nodeexec.LabelRunID:           r.state.RunID,
			},
		},
		Spec: corev1.PodSpec{
			// A crimig that dies leaves a pod the next run removes
			// (nodeexec.CleanupOrphans); the kubelet ends it before that.
			ActiveDeadlineSeconds: &deadline,
			// Pinned by name: the scheduler, and so the cordon, are bypassed.
			NodeName:                      r.node,
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  &no,
			ImagePullSecrets:              secrets,
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name:            smokeContainer,
				Image:           r.e.Options.SmokeImage,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{"sh", "-c", `echo "$0"; exec sleep 600`, token},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no},
			}},
		},
	}
}

// waitSmokeRunning waits until the smoke container runs, failing at once
// on a waiting reason no wait cures.
func (r *run) waitSmokeRunning(ctx context.Context, name string) (*corev1.Pod, error) {
	timeout := r.e.Options.SmokeTimeout
	if timeout <= 0 {
		timeout = DefaultSmokeTimeout
	}
	var running *corev1.Pod
	last := ""
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := r.e.Client.CoreV1().Pods(r.e.LockNamespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return false, fmt.Errorf("the smoke-test pod %s was deleted while crimig waited for it", name)
		case err != nil:
			return false, nil
		case p.Status.Phase == corev1.PodRunning && containerRunning(p):
			running = p
			return true, nil
		case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
			return false, fmt.Errorf("the smoke-test pod ended (%s) before it could be checked", p.Status.Phase)
		}
		if reason, msg := waitingReason(p); reason != "" {
			if nonRetryableWaiting[reason] {
				return false, fmt.Errorf("the smoke-test pod cannot start: %s: %s", reason, msg)
			}
			if reason != last {
				r.e.emitProgress(r.node, inspect.StepSmoke, PhaseProgress, "smoke-test pod waiting: "+reason, 0.2)
				last = reason
			}
		}
		return false, nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		why := "it never ran"
		if last != "" {
			why = "last waiting reason " + last
		}
		return nil, fmt.Errorf("the smoke-test pod did not run within %s (%s); check the image %s is pullable from the node, or set --image",
			timeout, why, r.e.Options.SmokeImage)
	}
	return running, err
}

func containerRunning(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == smokeContainer && cs.State.Running != nil {
			return true
		}
	}
	return false
}

func waitingReason(p *corev1.Pod) (reason, msg string) {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			return cs.State.Waiting.Reason, cs.State.Waiting.Message
		}
	}
	return "", ""
}

// smokeLogs reads the container's log through the API until it shows what
// the container printed.
func (r *run) smokeLogs(ctx context.Context, name, token string) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		b, err := r.e.Client.CoreV1().Pods(r.e.LockNamespace).GetLogs(name, &corev1.PodLogOptions{Container: smokeContainer}).DoRaw(ctx)
		switch {
		case err != nil:
			last = err.Error()
		case strings.Contains(string(b), token):
			return true, nil
		default:
			last = fmt.Sprintf("the log has %d byte(s) but not the expected line", len(b))
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("kubectl logs of the smoke-test pod does not show its output: %s", last)
	}
	return nil
}

// deleteSmokePod removes the node's smoke pod and waits until it is gone,
// so a replacement of the same name can be created.
func (e *Engine) deleteSmokePod(ctx context.Context, name string) error {
	pods := e.Client.CoreV1().Pods(e.LockNamespace)
	grace := int64(0)
	err := pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting the smoke-test pod %s: %w", name, err)
	}
	err = wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("the smoke-test pod %s is still terminating", name)
	}
	return nil
}
