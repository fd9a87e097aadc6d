package inspect

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// nodeImages lists the images the node needs back once it runs the new
// runtime, whose image store starts empty: the new runtime's pause image and
// the images (init containers included) of the pods that come back to the
// node by themselves, DaemonSet pods and mirror (static) pods. Evicted pods
// are left out: they may be scheduled anywhere. migrate --carry-images copies
// these from docker into the new runtime's store, for nodes that cannot pull.
func nodeImages(pods []*podFacts, pause string) (images, bad []string) {
	set := map[string]bool{}
	if pause != "" {
		set[pause] = true
	}
	for _, p := range pods {
		if !p.returnsToNode() {
			continue
		}
		for _, img := range p.extra().images {
			set[img] = true
		}
	}
	for img := range set {
		if imageRefRE.MatchString(img) {
			images = append(images, img)
		} else {
			bad = append(bad, img)
		}
	}
	sort.Strings(images)
	sort.Strings(bad)
	return images, bad
}

// imageRefRE is what an image reference may look like by the time it
// reaches a host command (carry-images.sh checks the same): starting with a
// letter or digit, so that docker never reads one as an option.
var imageRefRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`)

func badImageFindings(node string, bad []string) []Finding {
	var out []Finding
	for _, img := range bad {
		out = append(out, Finding{ID: IDBadImageRef, Severity: Warning, Node: node, Subject: "image " + strconv.Quote(img),
			Message: fmt.Sprintf("a pod that returns to the node names the image %q, which is no image reference: "+
				"a reference starting with '-' would reach docker save on the host as an option, so crimig leaves it out of --carry-images", img),
			Remedy: "find the pod with \"kubectl get pods -A --field-selector spec.nodeName=" + node + " -o wide\" and fix its image"})
	}
	return out
}

// pauseImage is the new runtime's pause image, from the translation; empty
// without host facts (plan --no-host).
func (np *NodePlan) pauseImage() string {
	if np.Changes == nil {
		return ""
	}
	return np.Changes.PauseImage
}
