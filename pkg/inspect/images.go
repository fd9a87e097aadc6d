package inspect

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeImages lists the images the node needs back once it runs the new
// runtime, whose image store starts empty: the new runtime's pause image and
// the images (init containers included) of the pods that come back to the
// node by themselves, DaemonSet pods and mirror (static) pods. Evicted pods
// are left out: they may be scheduled anywhere. migrate --carry-images copies
// these from docker into the new runtime's store, for nodes that cannot pull.
func nodeImages(pods []*corev1.Pod, pause string) []string {
	set := map[string]bool{}
	if pause != "" {
		set[pause] = true
	}
	for _, p := range pods {
		if !returnsToNode(p) {
			continue
		}
		for _, c := range allContainers(&p.Spec) {
			if c.Image != "" {
				set[c.Image] = true
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for img := range set {
		out = append(out, img)
	}
	sort.Strings(out)
	return out
}

// returnsToNode tells the pods recreated on the same node after the swap:
// DaemonSet pods and mirror pods of static pods.
func returnsToNode(p *corev1.Pod) bool {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.Kind == "DaemonSet"
}

// pauseImage is the new runtime's pause image, from the translation; empty
// without host facts (plan --no-host).
func (np *NodePlan) pauseImage() string {
	if np.Changes == nil {
		return ""
	}
	return np.Changes.PauseImage
}
