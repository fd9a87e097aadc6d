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
func podsByNode(pods []podFacts) map[string][]*podFacts {
	m := map[string][]*podFacts{}
	for i := range pods {
		p := &pods[i]
		if p.node == "" || p.phase == corev1.PodSucceeded || p.phase == corev1.PodFailed {
			continue
		}
		m[p.node] = append(m[p.node], p)
	}
	return m
}

// drainFindings reports what would stop or hurt a drain of node.
func drainFindings(node string, pc *planContext) []Finding {
	var fs []Finding
	add := func(id string, sev Severity, subject, msg, remedy string) {
		fs = append(fs, Finding{ID: id, Severity: sev, Node: node, Subject: subject, Message: msg, Remedy: remedy})
	}
	blocked := map[string]bool{}
	for _, p := range pc.byNode[node] {
		if !p.evicted() {
			continue
		}
		if p.ctrl == nil {
			add(IDBarePod, Warning, pc.f.owner(p), "pod has no controller; drain deletes it and nothing recreates it",
				"recreate it elsewhere or give it a controller; migrate needs --force to delete it")
		}
		if x := p.extra(); x.hasEmptyDir {
			add(IDEmptyDir, Warning, pc.f.owner(p), fmt.Sprintf("emptyDir volume %q is lost when the pod is evicted", x.emptyDir),
				"save the data if it matters; migrate needs --delete-emptydir-data")
		}
		for _, pdb := range pc.pdbs.covering(p.namespace, p.labels) {
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
	return idx.covering(p.Namespace, p.Labels)
}

func (idx PDBIndex) covering(namespace string, podLabels labels.Set) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for _, pp := range idx[namespace] {
		if pp.sel.Matches(podLabels) {
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

func newCapacity(nodes []corev1.Node, byNode map[string][]*podFacts) *capacity {
	c := &capacity{evictCPU: map[string]int64{}, evictMem: map[string]int64{}, freeCPU: map[string]int64{}, freeMem: map[string]int64{}}
	for i := range nodes {
		n := &nodes[i]
		cpu, mem := n.Status.Allocatable.Cpu().MilliValue(), n.Status.Allocatable.Memory().Value()
		for _, p := range byNode[n.Name] {
			cpu -= p.cpuMilli
			mem -= p.memBytes
			if p.evicted() {
				c.evictCPU[n.Name] += p.cpuMilli
				c.evictMem[n.Name] += p.memBytes
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
