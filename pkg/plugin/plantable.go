package plugin

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// printPlanTable prints the plan for a person. The default table stays
// short for a fleet: nodes alike share a row (nodeGroups) and findings are
// grouped by ID (findingGroups). wide lists every node and every finding,
// with the OS and the remedy. A plan of one node to migrate is followed by
// its steps, images and file diffs.
func printPlanTable(out io.Writer, p *inspect.Plan, wide bool) error {
	// A tab writer per table: kubectl's remembers column widths, and the
	// node table's first column (a row's node names) would widen the ID's.
	w := printers.GetNewTabWriter(out)
	if wide {
		printNodeRows(w, p)
	} else {
		printNodeGroups(w, p)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	w = printers.GetNewTabWriter(out)
	switch {
	case wide:
		printFindingRows(w, allFindings(p), true)
	case len(p.Nodes) > 1:
		printFindingGroups(w, allFindings(p))
	default:
		// One node: each finding is what its change review reads.
		printFindingRows(w, allFindings(p), false)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(p.Nodes) == 1 && p.Nodes[0].Eligible {
		printNodeDetail(out, p.Nodes[0])
	}
	_, err := fmt.Fprintf(out, "\n%d blocker(s), %d warning(s), %d info.\n", p.Summary.Blockers, p.Summary.Warnings, p.Summary.Infos)
	return err
}

const nodeHeader = "NODE\tROLE\tRUNTIME\tKUBELET\tSOURCE\tTARGET\tVERDICT\tBLOCKERS\tWARNINGS\tFILES"

func nodeTarget(p *inspect.Plan, n *inspect.NodePlan) string {
	if !n.Eligible {
		return "-"
	}
	return p.Target + " " + n.TargetVersion
}

// nodeColumns are the columns between NODE and the counts: what nodes of
// one row share.
func nodeColumns(p *inspect.Plan, n *inspect.NodePlan) string {
	return strings.Join([]string{n.Role, n.Runtime + " " + n.RuntimeVersion, n.KubeletVersion, dash(n.Source), nodeTarget(p, n), n.Verdict}, "\t")
}

// printNodeRows prints one row per node, with the OS (wide).
func printNodeRows(w io.Writer, p *inspect.Plan) {
	fmt.Fprintln(w, nodeHeader+"\tOS")
	for i := range p.Nodes {
		n := &p.Nodes[i]
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\n", n.Name, nodeColumns(p, n), n.Summary.Blockers, n.Summary.Warnings, changedFiles(*n), dash(n.OS))
	}
}

// nodeGroup is one row of the default table: nodes that share role,
// runtime, kubelet, source, target, verdict and the kinds of findings that
// concern them.
type nodeGroup struct {
	columns                   string
	names                     []string
	blockers, warnings, files spread
}

// spread is the range of a count over the nodes of a row.
type spread struct{ lo, hi, n int }

func (s *spread) add(v int) {
	if s.n == 0 || v < s.lo {
		s.lo = v
	}
	if s.n == 0 || v > s.hi {
		s.hi = v
	}
	s.n++
}

func (s spread) String() string {
	if s.lo == s.hi {
		return fmt.Sprint(s.lo)
	}
	return fmt.Sprintf("%d-%d", s.lo, s.hi)
}

// nodeGroups groups the plan's nodes, in the plan's order of first nodes.
//
// The findings part of the key is the set of finding IDs with their
// severity, not the findings themselves: subjects name each node's own pods
// and host files, so no two nodes would ever share a row, while the same
// IDs mean the same work and the same risks. The counts may still differ
// within a row (two bare pods here, one there): they show as a range.
func nodeGroups(p *inspect.Plan) []*nodeGroup {
	kinds := findingKindsByNode(p)
	byKey := map[string]*nodeGroup{}
	var out []*nodeGroup
	for i := range p.Nodes {
		n := &p.Nodes[i]
		columns := nodeColumns(p, n)
		key := columns + "\x00" + kinds[n.Name]
		g := byKey[key]
		if g == nil {
			g = &nodeGroup{columns: columns}
			byKey[key] = g
			out = append(out, g)
		}
		g.names = append(g.names, n.Name)
		g.blockers.add(n.Summary.Blockers)
		g.warnings.add(n.Summary.Warnings)
		g.files.add(changedFiles(*n))
	}
	return out
}

// findingKindsByNode returns, per node, the sorted IDs and severities of
// the findings that concern it: its own and, for a node to migrate, the
// cluster ones that list it (those that list no node concern every node
// alike, so they set no node apart).
func findingKindsByNode(p *inspect.Plan) map[string]string {
	eligible := map[string]bool{}
	for _, n := range p.Nodes {
		eligible[n.Name] = n.Eligible
	}
	kinds := map[string]map[string]bool{}
	note := func(node string, f inspect.Finding) {
		if kinds[node] == nil {
			kinds[node] = map[string]bool{}
		}
		kinds[node][f.ID+" "+string(f.Severity)] = true
	}
	for _, f := range p.Findings {
		for _, n := range f.Nodes {
			if eligible[n] {
				note(n, f)
			}
		}
	}
	for _, n := range p.Nodes {
		for _, f := range n.Findings {
			note(n.Name, f)
		}
	}
	out := make(map[string]string, len(kinds))
	for node, set := range kinds {
		ids := make([]string, 0, len(set))
		for id := range set {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		out[node] = strings.Join(ids, ",")
	}
	return out
}

// printNodeGroups prints a row per group; a row of one node reads as that
// node's row in wide.
func printNodeGroups(w io.Writer, p *inspect.Plan) {
	fmt.Fprintln(w, nodeHeader)
	for _, g := range nodeGroups(p) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", nodeList(g.names), g.columns, g.blockers, g.warnings, g.files)
	}
}

// nodeList names up to three nodes; past that, the first three and the
// count of all.
func nodeList(names []string) string {
	if len(names) > 3 {
		return fmt.Sprintf("%s,… (%d)", strings.Join(names[:3], ","), len(names))
	}
	return strings.Join(names, ",")
}

func allFindings(p *inspect.Plan) []inspect.Finding {
	out := append([]inspect.Finding{}, p.Findings...)
	for _, n := range p.Nodes {
		out = append(out, n.Findings...)
	}
	return out
}

// printFindingRows prints every finding (wide, with the remedy, or a plan
// of one node).
func printFindingRows(w io.Writer, findings []inspect.Finding, wide bool) {
	if len(findings) == 0 {
		return
	}
	fmt.Fprintln(w)
	header := "ID\tSEVERITY\tNODE\tSUBJECT\tMESSAGE"
	if wide {
		header += "\tREMEDY"
	}
	fmt.Fprintln(w, header)
	for _, f := range findings {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", f.ID, f.Severity, findingNodes(f), f.Subject, f.Message)
		if wide {
			line += "\t" + f.Remedy
		}
		fmt.Fprintln(w, line)
	}
}

func findingNodes(f inspect.Finding) string {
	switch {
	case f.Node != "":
		return f.Node
	case len(f.Nodes) > 0:
		return nodeList(f.Nodes)
	}
	return "*"
}

// findingGroup is one row of the default findings table: the findings of
// one ID and severity, wherever they are.
type findingGroup struct {
	first inspect.Finding
	// distinct holds subject and message: findings past the first that
	// say something else show as "(+N more)".
	distinct map[string]bool
	nodes    map[string]bool
	names    []string
	// everywhere: a finding of the group lists no node, so concerns all.
	everywhere bool
}

func (g *findingGroup) addNode(n string) {
	if n != "" && !g.nodes[n] {
		g.nodes[n] = true
		g.names = append(g.names, n)
	}
}

// findingGroups groups findings by ID and severity (a check may lower one
// finding's severity: those rows stay apart), most serious first.
func findingGroups(findings []inspect.Finding) []*findingGroup {
	byKey := map[string]*findingGroup{}
	var out []*findingGroup
	for _, f := range findings {
		key := f.ID + " " + string(f.Severity)
		g := byKey[key]
		if g == nil {
			g = &findingGroup{first: f, distinct: map[string]bool{}, nodes: map[string]bool{}}
			byKey[key] = g
			out = append(out, g)
		}
		g.distinct[f.Subject+"\x00"+f.Message] = true
		g.everywhere = g.everywhere || (f.Node == "" && len(f.Nodes) == 0)
		g.addNode(f.Node)
		for _, n := range f.Nodes {
			g.addNode(n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].first, out[j].first
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() < b.Severity.Rank()
		}
		return a.ID < b.ID
	})
	return out
}

// printFindingGroups prints a row per ID: the nodes it concerns (* for
// every node), its first subject and message, and how many findings of the
// ID say something else; wide lists them all.
func printFindingGroups(w io.Writer, findings []inspect.Finding) {
	if len(findings) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "ID\tSEVERITY\tNODES\tSUBJECT\tMESSAGE")
	for _, g := range findingGroups(findings) {
		nodes := nodeList(g.names)
		if g.everywhere {
			nodes = "*"
		}
		subject := g.first.Subject
		if more := len(g.distinct) - 1; more > 0 {
			subject += fmt.Sprintf(" (+%d more)", more)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", g.first.ID, g.first.Severity, nodes, subject, g.first.Message)
	}
}
