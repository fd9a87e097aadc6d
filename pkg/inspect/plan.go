package inspect

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

// PlanAPIVersion versions the -o json|yaml document.
const PlanAPIVersion = "crimig.io/v1alpha1"

// Options choose what the plan is for.
type Options struct {
	Target hostconf.Target
	// TargetVersion overrides the runtime version picked from the kubelet's.
	TargetVersion string
	// Nodes restricts the plan; empty means every node.
	Nodes []string
	// Source is where the runtime comes from: pkgs, repo=URL or bundle=FILE.
	Source string
}

// Plan is the document `kubectl crimig plan` prints.
type Plan struct {
	DocumentMeta
	Target   string     `json:"target"`
	Summary  Summary    `json:"summary"`
	Findings []Finding  `json:"findings"`
	Nodes    []NodePlan `json:"nodes"`
}

// NodePlan is what would happen on one node.
type NodePlan struct {
	NodeSummary
	OS string `json:"os,omitempty"`
	// Verdict is ready, blocked, done (already on the target) or skip.
	Verdict       string `json:"verdict"`
	TargetVersion string `json:"targetVersion,omitempty"`
	// Eligible is false for nodes that do not run docker.
	Eligible bool `json:"eligible"`
	// Summary counts every finding that concerns the node (FindingsFor):
	// its own and, on a node to migrate, the cluster ones that list it or
	// no node at all. Plan.Summary counts each finding once.
	Summary  Summary           `json:"summary"`
	Findings []Finding         `json:"findings"`
	Files    []PlanFile        `json:"files,omitempty"`
	Copies   []hostconf.CopyOp `json:"copies,omitempty"`
	// Images are what the node needs in the new runtime's store after the
	// swap: its pause image and the images of its DaemonSet and mirror pods
	// (see nodeImages); migrate --carry-images copies them from docker.
	Images  []string         `json:"images,omitempty"`
	Changes *hostconf.Output `json:"-"`
	Steps   []Step           `json:"steps,omitempty"`
}

// Verdicts of a node plan.
const (
	VerdictReady   = "ready"
	VerdictBlocked = "blocked"
	VerdictDone    = "done"
	VerdictSkip    = "skip"
)

// BuildPlan assembles findings, file changes and steps. It does no I/O.
func BuildPlan(cf *ClusterFacts, hosts map[string]HostResult, o Options) (*Plan, error) {
	return NewFacts(cf).Plan(hosts, o)
}

// Plan assembles findings, file changes and steps. It does no I/O.
func (f *Facts) Plan(hosts map[string]HostResult, o Options) (*Plan, error) {
	selected, err := selectNodes(f.Nodes, o.Nodes)
	if err != nil {
		return nil, err
	}
	byNode := podsByNode(f.pods)
	p := &Plan{DocumentMeta: NewDocumentMeta("Plan"), Target: string(o.Target)}
	p.Findings = append(workloadFindings(f), logAgentFindings(f)...)
	p.Findings = append(p.Findings, kubeletConfigMapFindings(f)...)
	controlPlanes := countControlPlanes(f.Nodes)
	ctx := &planContext{f: f, byNode: byNode, cap: newCapacity(f.Nodes, byNode), pdbs: NewPDBIndex(f.PDBs)}
	for _, n := range selected {
		np := buildNodePlan(n, ctx, hosts, controlPlanes, o)
		p.Nodes = append(p.Nodes, np)
	}
	p.Findings = relevantClusterFindings(p.Findings, p.Nodes)
	p.settle()
	return p, nil
}

// AddFinding adds a cluster-wide finding that comes from outside the
// cluster's facts, such as crimig's own pod image: it takes its place in
// the order, the counts and the verdicts like any other.
func (p *Plan) AddFinding(f Finding) {
	p.Findings = append(p.Findings, f)
	p.settle()
}

// settle sorts the cluster-wide findings, blocks the nodes they block and
// counts every finding.
func (p *Plan) settle() {
	sortFindings(p.Findings)
	p.summarizeNodes()
	all := append([]Finding{}, p.Findings...)
	for _, np := range p.Nodes {
		all = append(all, np.Findings...)
	}
	p.Summary = summarize(all)
}

// planContext holds the cluster-wide indexes every node plan reads.
type planContext struct {
	f      *Facts
	byNode map[string][]*podFacts
	cap    *capacity
	pdbs   PDBIndex
}

func buildNodePlan(n *corev1.Node, pc *planContext, hosts map[string]HostResult, controlPlanes int, o Options) NodePlan {
	np := NodePlan{NodeSummary: SummarizeNode(n), OS: n.Status.NodeInfo.OSImage}
	if !sourceSupported(np.Runtime, o.Target) {
		msg := fmt.Sprintf("runs %s, nothing to migrate to %s", np.Runtime, o.Target)
		np.Verdict = VerdictSkip
		if np.Runtime == string(o.Target) {
			msg, np.Verdict = "already runs "+np.Runtime+" "+np.RuntimeVersion, VerdictDone
		}
		np.Findings = []Finding{{ID: IDNotDocker, Severity: Info, Node: n.Name, Subject: "node/" + n.Name, Message: msg, Remedy: "nothing to do"}}
		np.Summary = summarize(np.Findings)
		return np
	}
	np.Eligible = true
	np.TargetVersion = firstNonEmpty(o.TargetVersion, BundleVersion(o.Target, o.Source))
	if np.TargetVersion == "" {
		np.TargetVersion = DefaultTargetVersion(o.Target, np.KubeletVersion)
	}
	np.Findings = append(nodeFindings(np.NodeSummary, controlPlanes), drainFindings(n.Name, pc)...)
	if r, ok := hosts[n.Name]; ok {
		if v := installedContainerd(r, o); v != "" {
			// install leaves a present runtime alone: configure the one
			// that will run (docker's containerd.io 1.6 reads only config
			// version 2).
			np.TargetVersion = v
		}
		np.Findings = append(np.Findings, hostFindings(n.Name, o.Target, r)...)
		np.addTranslation(r, o.Target)
	}
	images, bad := nodeImages(pc.byNode[n.Name], np.pauseImage())
	np.Images = images
	np.Findings = append(np.Findings, badImageFindings(n.Name, bad)...)
	np.Steps = Steps(np, o)
	sortFindings(np.Findings)
	np.Summary = summarize(np.Findings)
	np.Verdict = VerdictReady
	if np.Summary.Blockers > 0 {
		np.Verdict = VerdictBlocked
	}
	return np
}

// installedContainerd returns the major.minor of the containerd already on
// the host when it is the target and no version was asked for.
func installedContainerd(r HostResult, o Options) string {
	if o.Target != hostconf.TargetContainerd || o.TargetVersion != "" || r.Err != nil || r.Facts == nil {
		return ""
	}
	c := r.Facts.Runtimes.Containerd
	parts := strings.SplitN(strings.TrimPrefix(c.Version, "v"), ".", 3)
	if !c.Installed || len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// sourceSupported: docker nodes go anywhere; containerd nodes may move to CRI-O.
func sourceSupported(runtime string, target hostconf.Target) bool {
	return runtime == "docker" || (runtime == "containerd" && target == hostconf.TargetCRIO)
}

func selectNodes(nodes []corev1.Node, names []string) ([]*corev1.Node, error) {
	byName := map[string]*corev1.Node{}
	for i := range nodes {
		byName[nodes[i].Name] = &nodes[i]
	}
	if len(names) == 0 {
		out := make([]*corev1.Node, 0, len(nodes))
		for i := range nodes {
			out = append(out, &nodes[i])
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}
	out := make([]*corev1.Node, 0, len(names))
	for _, name := range names {
		n, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("node %q not found; list nodes with 'kubectl get nodes'", name)
		}
		out = append(out, n)
	}
	return out, nil
}

func countControlPlanes(nodes []corev1.Node) int {
	c := 0
	for i := range nodes {
		if IsControlPlane(&nodes[i]) {
			c++
		}
	}
	return c
}

// relevantClusterFindings drops workload findings about nodes outside the
// plan, so `plan node-1` does not report a DaemonSet pod on node-9 alone.
func relevantClusterFindings(fs []Finding, nodes []NodePlan) []Finding {
	planned := map[string]bool{}
	for _, n := range nodes {
		if n.Eligible {
			planned[n.Name] = true
		}
	}
	out := fs[:0]
	for _, f := range fs {
		if len(f.Nodes) == 0 {
			out = append(out, f)
			continue
		}
		for _, n := range f.Nodes {
			if planned[n] {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// summarizeNodes counts, for each node to migrate, every finding that
// concerns it: its own and the cluster ones (see concerns). A node is
// blocked by the cluster blockers that concern it too (a docker.sock pod on
// it, a CronJob with DOCKER_HOST that may land anywhere), as migrate's
// preflight is, so its blocker count and its verdict always agree.
func (p *Plan) summarizeNodes() {
	byNode := map[string][]int{}
	var everywhere []int
	for i, f := range p.Findings {
		if len(f.Nodes) == 0 {
			everywhere = append(everywhere, i)
		}
		for _, n := range f.Nodes {
			byNode[n] = append(byNode[n], i)
		}
	}
	for i := range p.Nodes {
		np := &p.Nodes[i]
		if !np.Eligible {
			continue
		}
		s := summarize(np.Findings)
		for _, idx := range [][]int{everywhere, byNode[np.Name]} {
			for _, j := range idx {
				s.add(p.Findings[j].Severity)
			}
		}
		np.Summary = s
		if np.Verdict == VerdictReady && s.Blockers > 0 {
			np.Verdict = VerdictBlocked
		}
	}
}

// concerns reports whether a cluster finding concerns node. A workload with
// no pods yet (a CronJob between runs) may land on any node: its findings
// concern them all.
func concerns(f Finding, node string) bool {
	if len(f.Nodes) == 0 {
		return true
	}
	for _, n := range f.Nodes {
		if n == node {
			return true
		}
	}
	return false
}

// FindingsFor returns the findings that concern node: the cluster ones
// first, then its own. NodePlan.Summary counts the same findings.
func (p *Plan) FindingsFor(node string) []Finding {
	var out []Finding
	for _, f := range p.Findings {
		if concerns(f, node) {
			out = append(out, f)
		}
	}
	for _, np := range p.Nodes {
		if np.Name == node {
			out = append(out, np.Findings...)
		}
	}
	return out
}

// BlockersFor returns the blockers that concern node, cluster-wide ones
// included, minus those the user accepted.
func (p *Plan) BlockersFor(node string, accepted map[string]bool) []Finding {
	var out []Finding
	for _, f := range p.FindingsFor(node) {
		if f.Severity == Blocker && !accepted[f.ID] && !accepted["all"] {
			out = append(out, f)
		}
	}
	return out
}
