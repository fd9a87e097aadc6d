package migrate

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// nodeImager is implemented by HostOps that run node pods from an image
// (nodeexec.Executor): the steps after the swap need it on the new runtime.
type nodeImager interface {
	Image() string
}

// imagesToCarry is the plan's list (the new runtime's pause image, the
// DaemonSet and static pods' images) plus the images crimig itself runs on
// the node after the swap: its node pods (verify, smoke-test's log check)
// and the smoke-test pod. An air-gapped node cannot pull those either.
func (r *run) imagesToCarry(np *inspect.NodePlan) []string {
	set := map[string]bool{}
	for _, img := range np.Images {
		set[img] = true
	}
	if img := r.e.Options.SmokeImage; img != "" {
		set[img] = true
	}
	if ni, ok := r.e.Host.(nodeImager); ok && ni.Image() != "" {
		set[ni.Image()] = true
	}
	out := make([]string, 0, len(set))
	for img := range set {
		out = append(out, img)
	}
	sort.Strings(out)
	return out
}

// carryImages copies the images the node needs after the swap from
// docker's store into the new runtime's (--carry-images), for nodes that
// cannot pull. It runs after install, which brings podman for CRI-O, and
// before the swap stops docker. Images docker does not have are reported,
// not fatal: the node may still reach a registry for them.
func (r *run) carryImages(ctx context.Context) error {
	if !r.e.Options.CarryImages {
		r.e.emit(r.node, inspect.StepCarryImages, PhaseSkipped, "images are pulled by the new runtime (--carry-images copies them from docker)")
		return nil
	}
	np, err := r.nodePlan(ctx)
	if err != nil {
		return err
	}
	images := r.imagesToCarry(np)
	if len(images) == 0 {
		r.e.emit(r.node, inspect.StepCarryImages, PhaseInfo, "no image to carry")
		return nil
	}
	env := map[string]string{"CRIMIG_RUN_ID": r.state.RunID, "CRIMIG_TARGET": r.state.To, "CRIMIG_IMAGES": strings.Join(images, "\n")}
	if np.Changes != nil && np.Changes.ImageStoreRoot != "" {
		env["CRIMIG_STORAGE_ROOT"] = np.Changes.ImageStoreRoot
	}
	cr, err := scriptResult(ctx, r, hostscripts.CarryImages, env, hostscripts.ParseCarryResult)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("%d image(s) copied from docker into the %s image store, %d already there", len(cr.Carried), r.state.To, len(cr.Present))
	if len(cr.Missing) > 0 {
		msg += fmt.Sprintf("; %d not in docker's store, the node must pull them: %s", len(cr.Missing), strings.Join(cr.Missing, ", "))
	}
	r.e.emit(r.node, inspect.StepCarryImages, PhaseInfo, msg)
	return nil
}
