package hostconf

import (
	"fmt"
	"strings"
)

// InstanceConfigPath is where kubeadm 1.34+ keeps a node's CRI socket (the
// Node annotation is inspect.AnnotationCRISocket).
const InstanceConfigPath = "/var/lib/kubelet/instance-config.yaml"

// CRISocket returns the value of the kubeadm cri-socket annotation for a
// kubelet version: kubeadm ≥1.24 wants a URL, older kubeadm a bare path.
func CRISocket(kubeletVersion, endpoint string) (string, error) {
	minor, err := kubeletMinor(kubeletVersion)
	if err != nil {
		return "", err
	}
	if minor >= 24 {
		return endpoint, nil
	}
	return strings.TrimPrefix(endpoint, "unix://"), nil
}

// nodeLocalCRISocketMinor is the first kubelet minor whose kubeadm keeps
// the CRI socket in /var/lib/kubelet/instance-config.yaml instead of the
// Node annotation (NodeLocalCRISocket, beta and on by default from 1.34).
const nodeLocalCRISocketMinor = 34

// InstanceConfigReason is why the plan writes instance-config.yaml.
const InstanceConfigReason = "kubeadm 1.34+ (feature gate NodeLocalCRISocket, on by default) reads this node's CRI socket " +
	"from this file rather than from the node's cri-socket annotation, and copies it into config.yaml whenever it " +
	"regenerates that file (kubeadm upgrade node); it is written, or created when missing, with the new runtime's " +
	"endpoint so that a later kubeadm run keeps the kubelet on the new runtime"

// instanceConfig returns the content of instance-config.yaml: kubeadm
// writes a KubeletConfiguration fragment holding only
// containerRuntimeEndpoint and merges it into config.yaml on upgrade. An
// existing file is edited in place so anything else in it survives.
func instanceConfig(existing []byte, endpoint string) ([]byte, []Edit, error) {
	doc := existing
	if len(strings.TrimSpace(string(existing))) == 0 {
		doc = []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")
	}
	out, edits, err := editKubeletConfig(doc, ConfigEdits{ContainerRuntimeEndpoint: endpoint})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", InstanceConfigPath, err)
	}
	return out, edits, nil
}
