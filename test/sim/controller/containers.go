package controller

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/crimig/kubectl-crimig/test/sim/applets"
	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// LogsGVR is kwok's namespaced Logs resource: where `kubectl logs` of a pod
// reads from.
var LogsGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

// containerRunFor bounds how long a crimig pod's container command runs in
// the root to produce its log: long enough for an echo, short enough that a
// `sleep` does not pile up processes.
const containerRunFor = 2 * time.Second

// PodLogPath is where a kubelet keeps a container's log:
// /var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log.
func PodLogPath(p *corev1.Pod, container string) string {
	return path.Join("/var/log/pods", p.Namespace+"_"+p.Name+"_"+string(p.UID), container, "0.log")
}

// startContainers is the runtime starting the pod's containers once the
// pod gate opens: every container gets its log file where the kubelet looks
// for it, in the runtime's format. CRI-O and containerd write CRI-format
// lines into /var/log/pods themselves; with docker (dockershim and
// cri-dockerd) the file is a symlink to docker's json-file log under its
// data-root. A crimig pod with no privileged container also runs its
// command in the root for a moment (see containerRunFor) so that its log
// holds what it printed, and gets a kwok Logs object so `kubectl logs`
// reads that file.
func (c *Controller) startContainers(ctx context.Context, p *corev1.Pod, root string, h *host.Host) {
	k := h.Kubelet()
	if k == nil {
		return
	}
	crimig := p.Labels[ManagedByLabel] == ManagedByValue
	var entries []any
	for i := range p.Spec.Containers {
		ctr := &p.Spec.Containers[i]
		file, err := c.createLogFile(h, k.Runtime, p, ctr.Name)
		if err != nil {
			c.logf("pod %s/%s: container %s log: %v", p.Namespace, p.Name, ctr.Name, err)
			continue
		}
		if !crimig {
			continue
		}
		entries = append(entries, map[string]any{"containers": []any{ctr.Name}, "logsFile": h.P(file), "follow": false})
		if c.SimExe != "" && !privileged(p) && len(ctr.Command)+len(ctr.Args) > 0 {
			go c.runContainer(p, root, h, k.Runtime, file, append(append([]string{}, ctr.Command...), ctr.Args...))
		}
	}
	if len(entries) > 0 && c.Dynamic != nil {
		if err := c.createLogs(ctx, p, entries); err != nil {
			c.logf("pod %s/%s: kwok Logs: %v", p.Namespace, p.Name, err)
		}
	}
}

func privileged(p *corev1.Pod) bool {
	for _, ctr := range p.Spec.Containers {
		if ctr.SecurityContext != nil && ctr.SecurityContext.Privileged != nil && *ctr.SecurityContext.Privileged {
			return true
		}
	}
	return false
}

// createLogFile makes the container's empty log and returns the host path
// the runtime writes to.
func (c *Controller) createLogFile(h *host.Host, runtime string, p *corev1.Pod, container string) (string, error) {
	link := PodLogPath(p, container)
	if err := os.MkdirAll(filepath.Dir(h.P(link)), 0o755); err != nil {
		return "", err
	}
	file := link
	if runtime == "docker" {
		id := containerID(p, container)
		file = path.Join(dockerDataRoot(h), "containers", id, id+"-json.log")
		if err := os.MkdirAll(filepath.Dir(h.P(file)), 0o700); err != nil {
			return "", err
		}
		_ = os.Remove(h.P(link))
		if err := os.Symlink(file, h.P(link)); err != nil {
			return "", err
		}
	}
	f, err := os.OpenFile(h.P(file), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return "", err
	}
	return file, f.Close()
}

func containerID(p *corev1.Pod, container string) string {
	sum := sha256.Sum256([]byte(string(p.UID) + "/" + container))
	return hex.EncodeToString(sum[:])
}

// dockerDataRoot is daemon.json's data-root, else /var/lib/docker.
func dockerDataRoot(h *host.Host) string {
	var cfg struct {
		DataRoot string `json:"data-root"`
	}
	if err := json.Unmarshal([]byte(h.Read("/etc/docker/daemon.json")), &cfg); err == nil && cfg.DataRoot != "" {
		return cfg.DataRoot
	}
	return "/var/lib/docker"
}

// runContainer runs cmd chrooted in the node's root through the nsenter
// stub (so it dies with the runtime like an exec'd process), and appends
// what it prints to file in the runtime's log format.
func (c *Controller) runContainer(p *corev1.Pod, root string, h *host.Host, runtime, file string, cmd []string) {
	ctx, cancel := context.WithTimeout(context.Background(), containerRunFor)
	defer cancel()
	ex := exec.Command(c.SimExe, append([]string{"-t", "1", "-m", "-u", "-i", "-n", "-p", "--"}, cmd...)...)
	ex.Args[0] = "nsenter"
	ex.Env = append(os.Environ(),
		applets.EnvRoot+"="+root, applets.EnvPod+"="+p.Name,
		applets.EnvNamespace+"="+p.Namespace, applets.EnvNode+"="+p.Spec.NodeName)
	stdout, err1 := ex.StdoutPipe()
	stderr, err2 := ex.StderrPipe()
	if err1 != nil || err2 != nil {
		return
	}
	f, err := os.OpenFile(h.P(file), os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		c.logf("pod %s/%s: %v", p.Namespace, p.Name, err)
		return
	}
	defer f.Close()
	if err := ex.Start(); err != nil {
		c.logf("pod %s/%s: run container: %v", p.Namespace, p.Name, err)
		return
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for stream, r := range map[string]io.Reader{"stdout": stdout, "stderr": stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				mu.Lock()
				_, _ = f.WriteString(LogLine(runtime, stream, time.Now(), sc.Text()))
				mu.Unlock()
			}
		}()
	}
	go func() {
		<-ctx.Done()
		// The stub made itself a process group leader; take the group.
		_ = syscall.Kill(-ex.Process.Pid, syscall.SIGKILL)
	}()
	wg.Wait()
	_ = ex.Wait()
}

// LogLine is one log line as the runtime writes it: CRI format
// ("<RFC3339Nano> <stream> F <msg>") for CRI-O and containerd, docker's
// json-file format otherwise.
func LogLine(runtime, stream string, t time.Time, msg string) string {
	if runtime == "docker" {
		b, _ := json.Marshal(map[string]string{"log": msg + "\n", "stream": stream, "time": t.UTC().Format(time.RFC3339Nano)})
		return string(b) + "\n"
	}
	return fmt.Sprintf("%s %s F %s\n", t.UTC().Format(time.RFC3339Nano), stream, msg)
}

// createLogs points kwok at the pod's log files, replacing a Logs object
// left by an earlier pod of the same name.
func (c *Controller) createLogs(ctx context.Context, p *corev1.Pod, entries []any) error {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Logs",
		"metadata": map[string]any{
			"name": p.Name, "namespace": p.Namespace,
			"labels": map[string]any{ManagedByLabel: "crimig-sim"},
			"ownerReferences": []any{map[string]any{
				"apiVersion": "v1", "kind": "Pod", "name": p.Name, "uid": string(p.UID),
			}},
		},
		"spec": map[string]any{"logs": entries},
	}}
	res := c.Dynamic.Resource(LogsGVR).Namespace(p.Namespace)
	_, err := res.Create(ctx, obj, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := res.Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	_, err = res.Create(ctx, obj, metav1.CreateOptions{})
	return err
}
