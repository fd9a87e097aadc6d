package nodeexec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

const (
	// DefaultImage is a small image that has nsenter and sleep.
	DefaultImage = "docker.io/library/busybox:1.36"
	// DefaultNamespace holds crimig's node pods; crimig creates it when missing.
	DefaultNamespace = "crimig-system"
	// DefaultDeadline bounds a node pod's life even if crimig dies and never
	// deletes it: the kubelet kills it after this long.
	DefaultDeadline = time.Hour

	// ContainerName is the name of the only container in a node pod.
	ContainerName = "crimig"

	// LabelManagedBy marks everything crimig creates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "crimig"
	// LabelNode names the node a pod is pinned to.
	LabelNode = "crimig.io/node"
	// LabelRunID names the crimig run that created a pod.
	LabelRunID = "crimig.io/run-id"
)

// nameSuffixFunc makes pod names unique; tests replace it to get stable names.
var nameSuffixFunc = utilrand.String

// PodSpecInput is everything BuildPod needs.
type PodSpecInput struct {
	Node        string
	Image       string
	Namespace   string
	PullSecrets []string
	RunID       string
	// Deadline becomes activeDeadlineSeconds; zero means DefaultDeadline.
	Deadline time.Duration
}

// podMutator applies one concern to a node pod, as kubectl debug's profiles do.
type podMutator func(*corev1.Pod)

// BuildPod returns the privileged pod that gives crimig a shell on in.Node.
// It makes no API calls.
func BuildPod(in PodSpecInput) *corev1.Pod {
	if in.Image == "" {
		in.Image = DefaultImage
	}
	if in.Namespace == "" {
		in.Namespace = DefaultNamespace
	}
	if in.Deadline <= 0 {
		in.Deadline = DefaultDeadline
	}
	seconds := int64(in.Deadline.Round(time.Second) / time.Second)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      PodName(in.Node),
			Namespace: in.Namespace,
			Labels:    podLabels(in.Node, in.RunID),
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:            ContainerName,
				Image:           in.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				// The pod only hosts execs; it sleeps until the deadline would kill it.
				Command:                  []string{"sleep", strconv.FormatInt(seconds, 10)},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
			RestartPolicy: corev1.RestartPolicyNever,
		},
	}
	for _, mutate := range []podMutator{
		pinToNode(in.Node),
		useHostNamespaces,
		setPrivileged,
		tolerateEveryTaint,
		setActiveDeadline(seconds),
		requestLittle,
		dropServiceAccountToken,
		stopImmediately,
		usePullSecrets(in.PullSecrets),
	} {
		mutate(p)
	}
	return p
}

// pinToNode sets nodeName, which bypasses the scheduler: the pod lands on a
// cordoned node too.
func pinToNode(node string) podMutator {
	return func(p *corev1.Pod) { p.Spec.NodeName = node }
}

// useHostNamespaces lets nsenter reach PID 1 of the host.
func useHostNamespaces(p *corev1.Pod) {
	p.Spec.HostPID = true
	p.Spec.HostNetwork = true
	p.Spec.HostIPC = true
}

func setPrivileged(p *corev1.Pod) {
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		if c.SecurityContext == nil {
			c.SecurityContext = &corev1.SecurityContext{}
		}
		c.SecurityContext.Privileged = ptr.To(true)
	}
}

// tolerateEveryTaint uses the key-less Exists toleration, which matches every
// taint, including the NoExecute ones a node gets while its runtime is down.
func tolerateEveryTaint(p *corev1.Pod) {
	p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
}

// setActiveDeadline is the safety net for a crimig that dies without cleaning up.
func setActiveDeadline(seconds int64) podMutator {
	return func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To(seconds) }
}

// requestLittle sets small requests and no limits: host commands entered with
// nsenter stay in the pod's cgroup, so a memory limit would cap package
// installs and uploads running on the host.
func requestLittle(p *corev1.Pod) {
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].Resources.Requests = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("10m"),
			corev1.ResourceMemory: resource.MustParse("16Mi"),
		}
	}
}

// dropServiceAccountToken: the pod never talks to the API server.
func dropServiceAccountToken(p *corev1.Pod) {
	p.Spec.AutomountServiceAccountToken = ptr.To(false)
	p.Spec.EnableServiceLinks = ptr.To(false)
}

// stopImmediately: there is nothing to shut down gracefully in a sleeping pod.
func stopImmediately(p *corev1.Pod) {
	p.Spec.TerminationGracePeriodSeconds = ptr.To(int64(0))
}

func usePullSecrets(names []string) podMutator {
	return func(p *corev1.Pod) {
		for _, n := range names {
			p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
		}
	}
}

func podLabels(node, runID string) map[string]string {
	l := map[string]string{
		LabelManagedBy: ManagedBy,
		LabelNode:      labelValue(node),
	}
	if runID != "" {
		l[LabelRunID] = labelValue(runID)
	}
	return l
}

// labelValue returns v when it is a valid label value, else a readable prefix
// plus a hash, so that long node names still get a unique label.
func labelValue(v string) string {
	if len(validation.IsValidLabelValue(v)) == 0 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	prefix := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, v)
	if len(prefix) > 52 {
		prefix = prefix[:52]
	}
	return strings.Trim(prefix, "-") + "-" + hex.EncodeToString(sum[:])[:10]
}

// PodName returns crimig-<node>-<suffix>, shortening the node part so that
// the name fits in 63 characters.
func PodName(node string) string {
	suffix := nameSuffixFunc(5)
	room := 63 - len("crimig-") - len("-") - len(suffix)
	if len(node) > room {
		node = strings.TrimRight(node[:room], "-.")
	}
	return fmt.Sprintf("crimig-%s-%s", node, suffix)
}
