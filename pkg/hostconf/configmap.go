package hostconf

import "fmt"

// ConfigMapEdits are the cluster-wide kubelet-config changes: the same
// non-runtime edits as on the node. The runtime endpoint is per node and
// never goes into the ConfigMap.
type ConfigMapEdits struct {
	CgroupDriver string
	// CgroupDriverSafe must be set by the caller only when no node still on
	// docker would be broken by the new driver: kubeadm join and upgrade
	// copy the ConfigMap's cgroupDriver onto every node.
	CgroupDriverSafe      bool
	RuntimeRequestTimeout bool // raise to MinRuntimeRequestTimeout
	LogMax                *LogMax
}

// ConfigMapEdit is the edited `kubelet` key of the kubelet-config ConfigMap.
type ConfigMapEdit struct {
	Before, After string
	Diff          string
}

// EditKubeletConfigMap edits the `kubelet` data key of the named ConfigMap
// (kube-system/kubelet-config or kubelet-config-1.xx); name only labels the
// diff.
func EditKubeletConfigMap(name, data string, e ConfigMapEdits) (ConfigMapEdit, error) {
	ce := ConfigEdits{LogMax: e.LogMax}
	if e.CgroupDriverSafe {
		ce.CgroupDriver = e.CgroupDriver
	}
	if e.RuntimeRequestTimeout {
		ce.RuntimeRequestTimeout = MinRuntimeRequestTimeout
	}
	out, err := EditKubeletConfig([]byte(data), ce)
	if err != nil {
		return ConfigMapEdit{}, fmt.Errorf("configmap %s key kubelet: %w", name, err)
	}
	return ConfigMapEdit{Before: data, After: string(out),
		Diff: UnifiedDiff("/configmap/"+name+"/kubelet", []byte(data), out)}, nil
}
