package inspect

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// podsByNode indexes the pods that still hold resources on each node.
func podsByNode(pods []corev1.Pod) map[string][]*corev1.Pod {
	m := map[string][]*corev1.Pod{}
	for i := range pods {
		p := &pods[i]
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		m[p.Spec.NodeName] = append(m[p.Spec.NodeName], p)
	}
	return m
}

// evicted tells the pods a drain removes: not DaemonSet pods, not mirror pods.
func evicted(p *corev1.Pod) bool {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return false
	}
	ref := metav1.GetControllerOf(p)
	return ref == nil || ref.Kind != "DaemonSet"
}

// drainFindings reports what would stop or hurt a drain of node.
func drainFindings(node string, f *ClusterFacts, byNode map[string][]*corev1.Pod, idx ownerIndex) []Finding {
	var fs []Finding
	add := func(id string, sev Severity, subject, msg, remedy string) {
		fs = append(fs, Finding{ID: id, Severity: sev, Node: node, Subject: subject, Message: msg, Remedy: remedy})
	}
	blocked := map[string]bool{}
	for _, p := range byNode[node] {
		if !evicted(p) {
			continue
		}
		if metav1.GetControllerOf(p) == nil {
			add(IDBarePod, Warning, idx.Owner(p), "pod has no controller; drain deletes it and nothing recreates it",
				"recreate it elsewhere or give it a controller; migrate needs --force to delete it")
		}
		for _, v := range p.Spec.Volumes {
			if v.EmptyDir != nil {
				add(IDEmptyDir, Warning, idx.Owner(p), fmt.Sprintf("emptyDir volume %q is lost when the pod is evicted", v.Name),
					"save the data if it matters; migrate needs --delete-emptydir-data")
				break
			}
		}
		for _, pdb := range coveringPDBs(p, f.PDBs) {
			key := pdb.Namespace + "/" + pdb.Name
			if pdb.Status.DisruptionsAllowed < 1 && !blocked[key] {
				blocked[key] = true
				add(IDPDBZero, Blocker, "PodDisruptionBudget/"+key,
					"the PodDisruptionBudget allows 0 disruptions now; eviction of its pods would wait forever",
					"scale the workload up or relax the budget, then re-run plan")
			}
		}
	}
	if msg := capacityShortfall(node, f.Nodes, byNode); msg != "" {
		add(IDCapacity, Blocker, "node/"+node, msg, "add capacity or scale down before draining this node")
	}
	return fs
}

func coveringPDBs(p *corev1.Pod, pdbs []policyv1.PodDisruptionBudget) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for i := range pdbs {
		pdb := &pdbs[i]
		if pdb.Namespace != p.Namespace || pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out
}

// capacityShortfall compares the requests a drain evicts with the free
// allocatable on the other schedulable, Ready nodes.
func capacityShortfall(node string, nodes []corev1.Node, byNode map[string][]*corev1.Pod) string {
	needCPU, needMem := resource.Quantity{}, resource.Quantity{}
	for _, p := range byNode[node] {
		if evicted(p) {
			cpu, mem := podRequests(p)
			needCPU.Add(cpu)
			needMem.Add(mem)
		}
	}
	freeCPU, freeMem := resource.Quantity{}, resource.Quantity{}
	for i := range nodes {
		n := &nodes[i]
		if n.Name == node || n.Spec.Unschedulable || !nodeReady(n) {
			continue
		}
		cpu, mem := n.Status.Allocatable.Cpu().DeepCopy(), n.Status.Allocatable.Memory().DeepCopy()
		for _, p := range byNode[n.Name] {
			pc, pm := podRequests(p)
			cpu.Sub(pc)
			mem.Sub(pm)
		}
		freeCPU.Add(cpu)
		freeMem.Add(mem)
	}
	if needCPU.Cmp(freeCPU) > 0 || needMem.Cmp(freeMem) > 0 {
		return fmt.Sprintf("evicted pods request cpu %s and memory %s; the other nodes have %s and %s free",
			needCPU.String(), needMem.String(), freeCPU.String(), freeMem.String())
	}
	return ""
}

func podRequests(p *corev1.Pod) (cpu, mem resource.Quantity) {
	for _, c := range p.Spec.Containers {
		cpu.Add(*c.Resources.Requests.Cpu())
		mem.Add(*c.Resources.Requests.Memory())
	}
	return cpu, mem
}
