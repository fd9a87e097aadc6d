package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// The runtime needs a pod's images in its store (see host.ImagesDir):
// first the sandbox (pause) image, then every container's. Online a
// missing image is pulled into the store; on an air-gapped host the pull
// fails and the pod waits the way a kubelet shows it.

// sandboxImageBlocked says why the runtime cannot create the pod's sandbox.
func sandboxImageBlocked(h *host.Host) string {
	k := h.Kubelet()
	if k == nil {
		return ""
	}
	pause := h.SandboxImage()
	if pause == "" {
		return ""
	}
	if err := h.Pull(k.Runtime, pause, false); err != nil {
		return fmt.Sprintf("Failed to create pod sandbox: failed to pull the sandbox image %q: %v", pause, err)
	}
	return ""
}

// pullBlocked pulls what the pod's containers (init containers first)
// lack, and says which one the runtime cannot get.
func pullBlocked(h *host.Host, p *corev1.Pod) (waiting, reason string) {
	k := h.Kubelet()
	if k == nil {
		return "", ""
	}
	for _, ctr := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if err := h.Pull(k.Runtime, ctr.Image, ctr.ImagePullPolicy == corev1.PullAlways); err != nil {
			return "ErrImagePull", fmt.Sprintf("container %s: Failed to pull image %q: %v", ctr.Name, ctr.Image, err)
		}
	}
	return "", ""
}
