package inspect

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ownerIndex resolves a pod to the workload a user manages: a ReplicaSet's
// Deployment, a Job's CronJob, otherwise the direct controller.
type ownerIndex struct {
	rs  map[string]*metav1.OwnerReference
	job map[string]*metav1.OwnerReference
}

func newOwnerIndex(f *ClusterFacts) ownerIndex {
	idx := ownerIndex{rs: map[string]*metav1.OwnerReference{}, job: map[string]*metav1.OwnerReference{}}
	for i := range f.ReplicaSets {
		rs := &f.ReplicaSets[i]
		idx.rs[rs.Namespace+"/"+rs.Name] = metav1.GetControllerOf(rs)
	}
	for i := range f.Jobs {
		j := &f.Jobs[i]
		idx.job[j.Namespace+"/"+j.Name] = metav1.GetControllerOf(j)
	}
	return idx
}

// Owner returns "Kind/namespace/name" for the pod's top-level workload, or
// "Pod/namespace/name" for a pod without a controller.
func (idx ownerIndex) Owner(p *corev1.Pod) string {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return "Pod/" + p.Namespace + "/" + p.Name
	}
	var parent *metav1.OwnerReference
	switch ref.Kind {
	case "ReplicaSet":
		parent = idx.rs[p.Namespace+"/"+ref.Name]
	case "Job":
		parent = idx.job[p.Namespace+"/"+ref.Name]
	}
	if parent != nil {
		ref = parent
	}
	return ref.Kind + "/" + p.Namespace + "/" + ref.Name
}
