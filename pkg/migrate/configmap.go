package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// kubeletConfigMap applies the node's non-runtime kubelet edits to
// kube-system's kubelet-config, which kubeadm copies onto joining and
// upgraded nodes. cgroupDriver changes there only when it would break no
// node (see cgroupDriverSafe); the other edits apply at the first node.
// They come from the state, so a run resumed after the swap makes them too.
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
	edits := hostconf.ConfigMapEdits{RuntimeRequestTimeout: true, LogMax: r.state.KubeletLogMax, CgroupDriver: r.state.CgroupDriver}
	if edits.CgroupDriver != "" {
		var why string
		if edits.CgroupDriverSafe, why, err = r.e.cgroupDriverSafe(ctx, r.node, edits.CgroupDriver); err != nil {
			return err
		}
		if !edits.CgroupDriverSafe && hostconf.KubeletCgroupDriver(cm.Data["kubelet"]) != edits.CgroupDriver {
			r.e.emit(r.node, inspect.StepKubeletConfig, PhaseInfo, "cgroupDriver in ConfigMap kube-system/"+cm.Name+" left as it is: "+why)
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
	patch, err := kubeletConfigPatch(edit.After)
	if err != nil {
		return err
	}
	if _, err := r.e.Client.CoreV1().ConfigMaps("kube-system").Patch(ctx, cm.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("updating ConfigMap kube-system/%s: %w", cm.Name, err)
	}
	r.e.emit(r.node, inspect.StepKubeletConfig, PhaseInfo, "ConfigMap kube-system/"+cm.Name+" updated:\n"+strings.TrimSpace(edit.Diff))
	return nil
}

// kubeletConfigPatch is the JSON merge patch that gives the kubelet-config
// ConfigMap the kubelet configuration kubelet.
func kubeletConfigPatch(kubelet string) ([]byte, error) {
	return json.Marshal(map[string]any{"data": map[string]string{"kubelet": kubelet}})
}

// cgroupDriverSafe tells whether the kubelet-config ConfigMap may take
// driver: kubeadm join and upgrade copy its cgroupDriver onto nodes, so it
// must match every node's runtime. That holds only once no node but this one
// runs docker and every other node recorded driver when crimig migrated it;
// a node crimig did not migrate took its driver from the ConfigMap as it is.
// When it is not safe, why names the nodes in the way.
func (e *Engine) cgroupDriverSafe(ctx context.Context, self, driver string) (safe bool, why string, err error) {
	nodes, err := e.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, "", fmt.Errorf("listing nodes: %w", err)
	}
	var docker, other, unknown []string
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.Name == self {
			continue
		}
		if rt, _ := inspect.SplitRuntime(n.Status.NodeInfo.ContainerRuntimeVersion); rt == "docker" {
			docker = append(docker, n.Name)
			continue
		}
		switch st, _ := ReadState(n); {
		case st == nil || st.Phase != StateSucceeded || st.CgroupDriver == "":
			unknown = append(unknown, n.Name)
		case st.CgroupDriver != driver:
			other = append(other, n.Name+" ("+st.CgroupDriver+")")
		}
	}
	switch {
	case len(docker) > 0:
		return false, fmt.Sprintf("it changes to %s once the last docker node is migrated; %s still on docker", driver, nameList(docker, 5)), nil
	case len(other) > 0:
		return false, fmt.Sprintf("this node uses %s but %s use another driver; set it by hand once the nodes agree", driver, nameList(other, 5)), nil
	case len(unknown) > 0:
		return false, fmt.Sprintf("this node uses %s, and crimig did not migrate %s, which took their driver from this ConfigMap", driver, nameList(unknown, 5)), nil
	}
	return true, "", nil
}
