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

// routeExecs creates an Exec for each crimig pod on the node and, once kwok
// had time to see it and the node can run containers, marks the pod so the
// pod-ready stage lets it become Ready.
func (c *Controller) routeExecs(ctx context.Context, name, root string, o *Observation, st *nodeState) error {
	if c.Dynamic == nil {
		return nil
	}
	for _, p := range c.podsOn(name) {
		if p.Labels[ManagedByLabel] != ManagedByValue || p.DeletionTimestamp != nil || p.Annotations[ExecReadyAnno] == "true" {
			continue
		}
		key := p.Namespace + "/" + p.Name + "/" + string(p.UID)
		created, ok := st.execs[key]
		if !ok {
			if err := c.createExec(ctx, p, root); err != nil {
				return fmt.Errorf("create exec for %s/%s: %w", p.Namespace, p.Name, err)
			}
			st.execs[key] = time.Now()
			continue
		}
		if time.Since(created) < execSettle || !o.Ready() {
			continue
		}
		if o.SandboxError != "" {
			if !st.sandboxLogged[key] {
				c.logf("node %s: pod %s stays Pending: %s", name, key, o.SandboxError)
				st.sandboxLogged[key] = true
			}
			continue
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{ExecReadyAnno: "true"}}})
		if _, err := c.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("mark %s exec-ready: %w", key, err)
		}
	}
	return nil
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
