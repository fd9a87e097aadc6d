package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// kubeletConfigMap applies the node's non-runtime kubelet edits to
// kube-system's kubelet-config, which kubeadm copies onto joining and
// upgraded nodes. cgroupDriver changes there only when no docker node is
// left that the new driver would break.
func (r *run) kubeletConfigMap(ctx context.Context) error {
	cms, err := r.e.Client.CoreV1().ConfigMaps("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing kube-system ConfigMaps: %w", err)
	}
	cm := inspect.KubeletConfigMap(cms.Items)
	if cm == nil || cm.Data["kubelet"] == "" {
		r.e.emit(r.node, inspect.StepKubeletConfig, PhaseSkipped, "no kubelet-config ConfigMap")
		return nil
	}
	edits := hostconf.ConfigMapEdits{RuntimeRequestTimeout: true}
	if r.plan != nil && r.plan.Changes != nil {
		edits.LogMax = r.plan.Changes.KubeletLogMax
		edits.CgroupDriver = r.plan.Changes.CgroupDriver
	}
	if edits.CgroupDriver != "" {
		if edits.CgroupDriverSafe, err = r.e.noDockerNodeLeft(ctx, r.node); err != nil {
			return err
		}
	}
	edit, err := hostconf.EditKubeletConfigMap(cm.Name, cm.Data["kubelet"], edits)
	if err != nil {
		return err
	}
	if edit.Diff == "" {
		r.e.emit(r.node, inspect.StepKubeletConfig, PhaseInfo, "ConfigMap kube-system/"+cm.Name+" already up to date")
		return nil
	}
	patch, err := json.Marshal(map[string]any{"data": map[string]string{"kubelet": edit.After}})
	if err != nil {
		return err
	}
	if _, err := r.e.Client.CoreV1().ConfigMaps("kube-system").Patch(ctx, cm.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("updating ConfigMap kube-system/%s: %w", cm.Name, err)
	}
	r.e.emit(r.node, inspect.StepKubeletConfig, PhaseInfo, "ConfigMap kube-system/"+cm.Name+" updated:\n"+strings.TrimSpace(edit.Diff))
	return nil
}

// noDockerNodeLeft tells whether every node but this one left docker.
func (e *Engine) noDockerNodeLeft(ctx context.Context, except string) (bool, error) {
	nodes, err := e.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("listing nodes: %w", err)
	}
	return !anyDocker(nodes.Items, except), nil
}

func anyDocker(nodes []corev1.Node, except string) bool {
	for i := range nodes {
		rt, _ := inspect.SplitRuntime(nodes[i].Status.NodeInfo.ContainerRuntimeVersion)
		if nodes[i].Name != except && rt == "docker" {
			return true
		}
	}
	return false
}
