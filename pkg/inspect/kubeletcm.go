package inspect

import (
	"regexp"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

var kubeletConfigMapName = regexp.MustCompile(`^kubelet-config(-1\.\d+)?$`)

// KubeletConfigMap returns kube-system's kubelet-config (or the newest
// kubelet-config-1.xx), which kubeadm uses to configure joining nodes.
func KubeletConfigMap(cms []corev1.ConfigMap) *corev1.ConfigMap {
	var found []*corev1.ConfigMap
	for i := range cms {
		cm := &cms[i]
		if cm.Namespace == "kube-system" && kubeletConfigMapName.MatchString(cm.Name) {
			found = append(found, cm)
		}
	}
	if len(found) == 0 {
		return nil
	}
	// "kubelet-config" sorts before "kubelet-config-1.xx"; prefer the
	// unversioned name that kubeadm ≥1.24 uses, else the highest version.
	sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	if found[0].Name == "kubelet-config" {
		return found[0]
	}
	return found[len(found)-1]
}

func kubeletConfigMapFindings(f *Facts) []Finding {
	cm := KubeletConfigMap(f.kubeletConfigMaps)
	if cm == nil {
		return []Finding{{ID: IDKubeletConfigCM404, Severity: Info, Subject: "ConfigMap kube-system/kubelet-config",
			Message: "no kubelet-config ConfigMap: the cluster was not set up by kubeadm, or it was removed",
			Remedy:  "make sure whatever provisions new nodes configures the new runtime too"}}
	}
	return []Finding{{ID: IDKubeletConfigMap, Severity: Info, Subject: "ConfigMap kube-system/" + cm.Name,
		Message: "joining nodes read it: migrate sets runtimeRequestTimeout and container log rotation there; cgroupDriver changes only once no node runs docker and all use one driver",
		Remedy:  "nothing to do; review the diff when the first node migrates"}}
}
