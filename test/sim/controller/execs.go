package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crimig/kubectl-crimig/test/sim/applets"
	"github.com/crimig/kubectl-crimig/test/sim/host"
)

var everything = labels.Everything()

// ExecGVR is kwok's namespaced Exec resource.
var ExecGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "execs"}

// execSettle is how long kwok gets to see a new Exec before the pod may
// become Ready (kwok reads Execs through a watch).
const execSettle = 300 * time.Millisecond

// ExecObject is the kwok Exec that sends `kubectl exec` into pod to the
// nsenter stub with the node's root in its environment.
func ExecObject(pod *corev1.Pod, root string) *unstructured.Unstructured {
	env := func(k, v string) map[string]any { return map[string]any{"name": k, "value": v} }
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Exec",
		"metadata": map[string]any{
			"name":      pod.Name,
			"namespace": pod.Namespace,
			"labels":    map[string]any{ManagedByLabel: "crimig-sim"},
			"ownerReferences": []any{map[string]any{
				"apiVersion": "v1", "kind": "Pod", "name": pod.Name, "uid": string(pod.UID),
			}},
		},
		"spec": map[string]any{"execs": []any{map[string]any{
			"local": map[string]any{
				"workDir": "/",
				"envs": []any{
					env(applets.EnvRoot, root),
					env(applets.EnvPod, pod.Name),
					env(applets.EnvNamespace, pod.Namespace),
					env(applets.EnvNode, pod.Spec.NodeName),
				},
			},
		}}},
	}}
}

// gatePods opens the pod-ready stage for the node's pods. Every pod gets
// sim.crimig.io/image-ok once the node is Ready, can create sandboxes and
// its runtime can resolve the pod's images. A crimig pod first gets an Exec
// and, once kwok had time to see it, sim.crimig.io/exec-ready.
func (c *Controller) gatePods(ctx context.Context, name, root string, h *host.Host, o *Observation, st *nodeState) error {
	for _, p := range c.podsOn(name) {
		if p.DeletionTimestamp != nil {
			continue
		}
		crimig := p.Labels[ManagedByLabel] == ManagedByValue
		need := map[string]string{}
		if p.Annotations[ImageOKAnno] != "true" {
			need[ImageOKAnno] = "true"
		}
		if crimig && p.Annotations[ExecReadyAnno] != "true" {
			need[ExecReadyAnno] = "true"
		}
		if len(need) == 0 {
			continue
		}
		key := p.Namespace + "/" + p.Name + "/" + string(p.UID)
		if _, ok := need[ExecReadyAnno]; ok {
			created, ok := st.execs[key]
			if !ok {
				if err := c.createExec(ctx, p, root); err != nil {
					return fmt.Errorf("create exec for %s/%s: %w", p.Namespace, p.Name, err)
				}
				st.execs[key] = time.Now()
				continue
			}
			if time.Since(created) < execSettle {
				continue
			}
		}
		if !o.Ready() {
			continue
		}
		if waiting, reason := podBlocked(h, o, p); reason != "" {
			if !st.sandboxLogged[key] {
				c.logf("node %s: pod %s/%s stays Pending: %s", name, p.Namespace, p.Name, reason)
				c.markWaiting(ctx, p, waiting, reason)
				st.sandboxLogged[key] = true
			}
			continue
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": need}})
		if _, err := c.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return fmt.Errorf("open pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		if _, opened := need[ImageOKAnno]; opened {
			c.startContainers(ctx, p, root, h)
		}
	}
	return nil
}

// podBlocked says why the node cannot start the pod's containers, with the
// waiting reason a kubelet would show.
func podBlocked(h *host.Host, o *Observation, p *corev1.Pod) (waiting, reason string) {
	if o.SandboxError != "" {
		return "ContainerCreating", o.SandboxError
	}
	if why := sandboxImageBlocked(h); why != "" {
		return "ContainerCreating", why
	}
	for _, ctr := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if ok, why := h.CanPull(ctr.Image); !ok {
			return "ImageInspectError", fmt.Sprintf("container %s: %s", ctr.Name, why)
		}
	}
	return pullBlocked(h, p)
}

// markWaiting shows a blocked pod's containers as waiting, as a kubelet
// reports ImageInspectError or ContainerCreating; the pod-ready stage
// replaces it once the pod starts.
func (c *Controller) markWaiting(ctx context.Context, p *corev1.Pod, waiting, msg string) {
	var statuses []corev1.ContainerStatus
	for _, ctr := range p.Spec.Containers {
		statuses = append(statuses, corev1.ContainerStatus{Name: ctr.Name, Image: ctr.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting, Message: msg}}})
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"containerStatuses": statuses}})
	if _, err := c.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil && !apierrors.IsNotFound(err) {
		c.logf("mark pod %s/%s waiting: %v", p.Namespace, p.Name, err)
	}
}

// createExec creates the pod's Exec, replacing one left by an earlier pod
// of the same name.
func (c *Controller) createExec(ctx context.Context, p *corev1.Pod, root string) error {
	res := c.Dynamic.Resource(ExecGVR).Namespace(p.Namespace)
	_, err := res.Create(ctx, ExecObject(p, root), metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	old, err := res.Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if refs := old.GetOwnerReferences(); len(refs) == 1 && refs[0].UID == p.UID {
		return nil
	}
	if err := res.Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	_, err = res.Create(ctx, ExecObject(p, root), metav1.CreateOptions{})
	return err
}

func (c *Controller) deleteExec(ctx context.Context, p *corev1.Pod) {
	if c.Dynamic == nil || p.Labels[ManagedByLabel] != ManagedByValue {
		return
	}
	res := c.Dynamic.Resource(ExecGVR).Namespace(p.Namespace)
	old, err := res.Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		return
	}
	if refs := old.GetOwnerReferences(); len(refs) == 1 && refs[0].UID != p.UID {
		return // it already belongs to a newer pod of the same name
	}
	err = res.Delete(ctx, p.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		c.logf("delete exec %s/%s: %v", p.Namespace, p.Name, err)
	}
}
