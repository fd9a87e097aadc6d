// Package controller is the simulator's Node controller: it creates the
// Node objects of simulated hosts, is the only writer of their status,
// mirrors host state onto it, routes exec for crimig pods to the right host
// root through kwok Exec objects, and kills pods when their runtime stops.
package controller

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// Labels and annotations the simulator uses.
const (
	KwokNodeAnnotation = "kwok.x-k8s.io/node"
	CRISocketAnno      = "kubeadm.alpha.kubernetes.io/cri-socket"
	FixtureLabel       = "sim.crimig.io/fixture"
	ManagedByLabel     = "app.kubernetes.io/managed-by"
	ManagedByValue     = "crimig"
	ExecReadyAnno      = "sim.crimig.io/exec-ready"
	ImageOKAnno        = "sim.crimig.io/image-ok"
	ControlPlaneLabel  = "node-role.kubernetes.io/control-plane"
	MasterLabel        = "node-role.kubernetes.io/master"
	ExcludeLBLabel     = "node.kubernetes.io/exclude-from-external-load-balancers"
)

// ControlPlaneMarks are the labels and taints kubeadm's mark-control-plane
// phase of that version sets: 1.20-1.23 label master and control-plane and
// taint master; 1.24 labels control-plane and taints both; from 1.25 on
// only control-plane.
func ControlPlaneMarks(version string) (map[string]string, []corev1.Taint) {
	minor := host.Minor(version)
	labels := map[string]string{ControlPlaneLabel: "", ExcludeLBLabel: ""}
	var taints []corev1.Taint
	if minor <= 23 {
		labels[MasterLabel] = ""
	}
	if minor <= 24 {
		taints = append(taints, corev1.Taint{Key: MasterLabel, Effect: corev1.TaintEffectNoSchedule})
	}
	if minor >= 24 {
		taints = append(taints, corev1.Taint{Key: ControlPlaneLabel, Effect: corev1.TaintEffectNoSchedule})
	}
	return labels, taints
}

// NodeObject is the Node that add-node creates (no status: the controller owns it).
func NodeObject(name string, m *host.Meta) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				KwokNodeAnnotation:             "fake",
				CRISocketAnno:                  m.CRISocket,
				"node.alpha.kubernetes.io/ttl": "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
			Labels: map[string]string{
				"kubernetes.io/hostname":  name,
				"kubernetes.io/os":        "linux",
				"kubernetes.io/arch":      "amd64",
				"beta.kubernetes.io/os":   "linux",
				"beta.kubernetes.io/arch": "amd64",
				FixtureLabel:              m.Fixture,
			},
		},
	}
	if m.ControlPlane {
		labels, taints := ControlPlaneMarks(m.KubeletVersion)
		for k, v := range labels {
			n.Labels[k] = v
		}
		n.Spec.Taints = taints
	}
	return n
}

// EnsureNode creates the Node, or restores the labels and annotations
// add-node owns on an existing one (the cri-socket annotation is left alone
// once set: migrating it is the product's job) and adds the control-plane
// taints it lacks.
func EnsureNode(ctx context.Context, c kubernetes.Interface, name string, m *host.Meta) error {
	want := NodeObject(name, m)
	got, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create node %s: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get node %s: %w", name, err)
	}
	if _, ok := got.Annotations[CRISocketAnno]; ok {
		delete(want.Annotations, CRISocketAnno)
	}
	body := map[string]any{"metadata": map[string]any{"labels": want.Labels, "annotations": want.Annotations}}
	taints, missing := got.Spec.Taints, false
	for _, t := range want.Spec.Taints {
		have := false
		for _, g := range got.Spec.Taints {
			have = have || (g.Key == t.Key && g.Effect == t.Effect)
		}
		if !have {
			taints, missing = append(taints, t), true
		}
	}
	if missing {
		body["spec"] = map[string]any{"taints": taints}
	}
	patch, _ := json.Marshal(body)
	if _, err := c.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch node %s: %w", name, err)
	}
	return nil
}
