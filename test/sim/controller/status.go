package controller

import (
	"crypto/sha256"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// Observation is the host state that the Node status mirrors.
type Observation struct {
	Meta           *host.Meta
	KubeletUp      bool
	RuntimeUp      bool
	Runtime        string // runtime the kubelet is connected to
	RuntimeVersion string
	BootID         string
	Rebooting      bool
	PodKills       int
	Reason         string // why the node is not ready
	SandboxError   string // why new pods cannot start although the node is Ready
}

// Observe reads a host root. A kubelet that started less than warmup ago
// is not Ready yet, as a real one needs a few seconds for its first
// runtime status check.
func Observe(h *host.Host, warmup time.Duration) (*Observation, error) {
	m, err := h.Meta()
	if err != nil {
		return nil, err
	}
	o := &Observation{Meta: m, BootID: h.BootID(), Rebooting: h.Rebooting(), PodKills: h.PodKills(), SandboxError: h.SandboxError()}
	k := h.Kubelet()
	o.KubeletUp = k != nil && h.IsActive("kubelet.service") && !o.Rebooting
	if k != nil {
		o.Runtime = k.Runtime
		o.RuntimeUp = true
		for _, u := range k.RuntimeUnit {
			if !h.IsActive(u) {
				o.RuntimeUp = false
			}
		}
		if o.RuntimeUp {
			o.RuntimeVersion = h.RuntimeVersion(k.Runtime)
		}
	}
	switch {
	case o.Rebooting:
		o.Reason = "node is rebooting"
	case !o.KubeletUp && (h.State("kubelet.service") == host.Failed || h.State("kubelet.service") == host.Activating):
		o.Reason = "kubelet failed to start"
	case !o.KubeletUp:
		o.Reason = "Kubelet stopped posting node status."
	case !o.RuntimeUp:
		o.Reason = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: container runtime is down"
	case time.Since(h.StartedAt("kubelet.service")) < warmup:
		o.RuntimeUp = false
		o.Reason = "container runtime status check may not have completed yet"
	}
	return o, nil
}

// Ready reports whether the node is Ready.
func (o *Observation) Ready() bool { return o.KubeletUp && o.RuntimeUp }

// fingerprint changes whenever the status the controller writes changes.
func (o *Observation) fingerprint(prevRuntimeVersion string) string {
	return fmt.Sprintf("%v|%v|%s|%s|%s", o.KubeletUp, o.RuntimeUp, o.runtimeVersion(prevRuntimeVersion), o.BootID, o.Reason)
}

// runtimeVersion keeps the last known version while no runtime answers,
// as a kubelet does.
func (o *Observation) runtimeVersion(prev string) string {
	if o.RuntimeVersion != "" {
		return o.RuntimeVersion
	}
	return prev
}

// ApplyStatus writes the observed state into node.Status, keeping the
// transition times of conditions that did not change.
func ApplyStatus(node *corev1.Node, o *Observation, prevRuntimeVersion string, kubeletPort int32, now metav1.Time) {
	st := &node.Status
	ready := condition(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status", now)
	switch {
	case !o.KubeletUp:
		ready = condition(corev1.NodeReady, corev1.ConditionUnknown, "NodeStatusUnknown", o.Reason, now)
	case !o.RuntimeUp:
		ready = condition(corev1.NodeReady, corev1.ConditionFalse, "KubeletNotReady", o.Reason, now)
	}
	conds := []corev1.NodeCondition{
		condition(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available", now),
		condition(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure", now),
		condition(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available", now),
		ready,
	}
	for i := range conds {
		for _, old := range st.Conditions {
			if old.Type == conds[i].Type && old.Status == conds[i].Status {
				conds[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	st.Conditions = conds
	st.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: node.Name}}
	st.DaemonEndpoints.KubeletEndpoint.Port = kubeletPort
	res := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("8Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	st.Capacity, st.Allocatable = res, res.DeepCopy()
	sum := sha256.Sum256([]byte(node.Name))
	st.NodeInfo = corev1.NodeSystemInfo{
		MachineID:               fmt.Sprintf("%x", sum[:16]),
		SystemUUID:              fmt.Sprintf("%x-%x-%x-%x-%x", sum[16:20], sum[20:22], sum[22:24], sum[24:26], sum[26:32]),
		BootID:                  o.BootID,
		KernelVersion:           o.Meta.KernelVersion,
		OSImage:                 o.Meta.OSImage,
		ContainerRuntimeVersion: o.runtimeVersion(prevRuntimeVersion),
		KubeletVersion:          o.Meta.KubeletVersion,
		OperatingSystem:         "linux",
		Architecture:            "amd64",
	}
	st.Phase = ""
}

func condition(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string, now metav1.Time) corev1.NodeCondition {
	return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
}
