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
func drainFindings(node string, pc *planContext) []Finding {
	idx := pc.idx
	var fs []Finding
	add := func(id string, sev Severity, subject, msg, remedy string) {
		fs = append(fs, Finding{ID: id, Severity: sev, Node: node, Subject: subject, Message: msg, Remedy: remedy})
	}
	blocked := map[string]bool{}
	for _, p := range pc.byNode[node] {
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
		for _, pdb := range pc.pdbs.Covering(p) {
			key := pdb.Namespace + "/" + pdb.Name
			if pdb.Status.DisruptionsAllowed < 1 && !blocked[key] {
				blocked[key] = true
				if pdb.Status.CurrentHealthy < pdb.Status.ExpectedPods {
					// Some pods are not healthy yet: once they are, the
					// budget allows evictions again and the drain goes on.
					add(IDPDBRecovering, Warning, "PodDisruptionBudget/"+key,
						fmt.Sprintf("the PodDisruptionBudget allows 0 disruptions until its pods are healthy again (%d of %d now); the drain waits for them",
							pdb.Status.CurrentHealthy, pdb.Status.ExpectedPods),
						"nothing if they are coming back (a node migrated just before); otherwise fix them before the drain times out")
					continue
				}
				add(IDPDBZero, Blocker, "PodDisruptionBudget/"+key,
					"the PodDisruptionBudget allows 0 disruptions now; eviction of its pods would wait forever",
					"scale the workload up or relax the budget, then re-run plan")
			}
		}
	}
	if msg := pc.cap.shortfall(node); msg != "" {
		add(IDCapacity, Blocker, "node/"+node, msg, "add capacity or scale down before draining this node")
	}
	return fs
}

type parsedPDB struct {
	pdb *policyv1.PodDisruptionBudget
	sel labels.Selector
}

// PDBIndex holds each namespace's PDBs with their selectors parsed once.
type PDBIndex map[string][]parsedPDB

// NewPDBIndex parses each PDB selector once.
func NewPDBIndex(pdbs []policyv1.PodDisruptionBudget) PDBIndex {
	idx := PDBIndex{}
	for i := range pdbs {
		pdb := &pdbs[i]
		if pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		idx[pdb.Namespace] = append(idx[pdb.Namespace], parsedPDB{pdb: pdb, sel: sel})
	}
	return idx
}

// Covering returns the PDBs whose selector matches the pod.
func (idx PDBIndex) Covering(p *corev1.Pod) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for _, pp := range idx[p.Namespace] {
		if pp.sel.Matches(labels.Set(p.Labels)) {
			out = append(out, pp.pdb)
		}
	}
	return out
}

// capacity holds, per node, what a drain evicts and what the node has free,
// in milli-CPU and bytes, computed once for the whole cluster.
type capacity struct {
	evictCPU, evictMem map[string]int64
	freeCPU, freeMem   map[string]int64
	totalCPU, totalMem int64 // free on every schedulable, Ready node
}

func newCapacity(nodes []corev1.Node, byNode map[string][]*corev1.Pod) *capacity {
	c := &capacity{evictCPU: map[string]int64{}, evictMem: map[string]int64{}, freeCPU: map[string]int64{}, freeMem: map[string]int64{}}
	for i := range nodes {
		n := &nodes[i]
		cpu, mem := n.Status.Allocatable.Cpu().MilliValue(), n.Status.Allocatable.Memory().Value()
		for _, p := range byNode[n.Name] {
			pc, pm := podRequests(p)
			cpu -= pc.MilliValue()
			mem -= pm.Value()
			if evicted(p) {
				c.evictCPU[n.Name] += pc.MilliValue()
				c.evictMem[n.Name] += pm.Value()
			}
		}
		if n.Spec.Unschedulable || !NodeReady(n) {
			continue
		}
		c.freeCPU[n.Name], c.freeMem[n.Name] = cpu, mem
		c.totalCPU += cpu
		c.totalMem += mem
	}
	return c
}

// shortfall compares the requests a drain of node evicts with the free
// allocatable on the other schedulable, Ready nodes.
func (c *capacity) shortfall(node string) string {
	needCPU, needMem := c.evictCPU[node], c.evictMem[node]
	freeCPU, freeMem := c.totalCPU-c.freeCPU[node], c.totalMem-c.freeMem[node]
	if needCPU > freeCPU || needMem > freeMem {
		return fmt.Sprintf("evicted pods request cpu %s and memory %s; the other nodes have %s and %s free",
			resource.NewMilliQuantity(needCPU, resource.DecimalSI), resource.NewQuantity(needMem, resource.BinarySI),
			resource.NewMilliQuantity(freeCPU, resource.DecimalSI), resource.NewQuantity(freeMem, resource.BinarySI))
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
