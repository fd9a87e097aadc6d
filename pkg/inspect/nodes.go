package inspect

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Well-known node metadata.
const (
	LabelControlPlane   = "node-role.kubernetes.io/control-plane"
	LabelMaster         = "node-role.kubernetes.io/master"
	AnnotationCRISocket = "kubeadm.alpha.kubernetes.io/cri-socket"
)

// NodeSummary is what plan knows about a node from the API alone.
type NodeSummary struct {
	Name           string `json:"name"`
	Role           string `json:"role"`
	Runtime        string `json:"runtime"`
	RuntimeVersion string `json:"runtimeVersion"`
	KubeletVersion string `json:"kubeletVersion"`
	// Source is how the kubelet reaches docker: dockershim or cri-dockerd.
	Source    string `json:"source,omitempty"`
	Ready     bool   `json:"ready"`
	Cordoned  bool   `json:"cordoned"`
	CRISocket string `json:"criSocket,omitempty"`
}

// SummarizeNode reads the runtime, version and role of a node.
func SummarizeNode(n *corev1.Node) NodeSummary {
	rt, rv := SplitRuntime(n.Status.NodeInfo.ContainerRuntimeVersion)
	s := NodeSummary{
		Name:           n.Name,
		Role:           "worker",
		Runtime:        rt,
		RuntimeVersion: rv,
		KubeletVersion: n.Status.NodeInfo.KubeletVersion,
		Ready:          NodeReady(n),
		Cordoned:       n.Spec.Unschedulable,
		CRISocket:      n.Annotations[AnnotationCRISocket],
	}
	if IsControlPlane(n) {
		s.Role = "control-plane"
	}
	if rt == "docker" {
		s.Source = dockerSource(s.KubeletVersion, s.CRISocket)
	}
	return s
}

// SplitRuntime turns "docker://20.10.7" into ("docker", "20.10.7").
func SplitRuntime(v string) (name, version string) {
	name, version, ok := strings.Cut(v, "://")
	if !ok {
		return v, ""
	}
	return name, version
}

// IsControlPlane tells control-plane nodes by their kubeadm role labels.
func IsControlPlane(n *corev1.Node) bool {
	_, cp := n.Labels[LabelControlPlane]
	_, master := n.Labels[LabelMaster]
	return cp || master
}

// NodeReady tells whether the Node reports the Ready condition True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// dockerSource: kubelets up to 1.23 talk to docker through the built-in
// dockershim unless kubeadm recorded the cri-dockerd socket.
func dockerSource(kubeletVersion, criSocket string) string {
	if strings.Contains(criSocket, "cri-dockerd") {
		return "cri-dockerd"
	}
	if minor, err := KubeletMinor(kubeletVersion); err == nil && minor <= 23 {
		return "dockershim"
	}
	return "cri-dockerd"
}

// KubeletMinor returns 23 for "v1.23.3".
func KubeletMinor(v string) (int, error) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 || parts[0] != "1" {
		return 0, fmt.Errorf("unrecognised kubelet version %q", v)
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0, fmt.Errorf("unrecognised kubelet version %q", v)
	}
	return minor, nil
}

// nodeFindings reports node-level facts that decide whether a node can go.
func nodeFindings(s NodeSummary, controlPlanes int) []Finding {
	var fs []Finding
	add := func(id string, sev Severity, msg, remedy string) {
		fs = append(fs, Finding{ID: id, Severity: sev, Node: s.Name, Subject: "node/" + s.Name, Message: msg, Remedy: remedy})
	}
	if !s.Ready {
		add(IDNodeNotReady, Blocker, "the node is not Ready",
			"fix the node first; crimig only migrates Ready nodes so that a failure can be told apart from an old one")
	}
	if s.Cordoned {
		add(IDAlreadyCordoned, Info, "the node was cordoned before crimig; it stays cordoned after the migration",
			"uncordon it yourself afterwards if that was not intended")
	}
	if s.Role == "control-plane" {
		add(IDControlPlane, Warning, "control-plane node: the API server restarts with the kubelet",
			"migrate it last, alone, with --allow-control-plane")
		if controlPlanes == 1 {
			add(IDSingleControlPlane, Blocker, "this is the only control-plane node: the API server is down during the swap",
				"add a control-plane node first, or accept the outage with --accept "+IDSingleControlPlane)
		}
	}
	return fs
}
