package plugin

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// fleetPlan is the plan of a fleet of n nodes of a few kinds, as BuildPlan
// makes it: three control-plane nodes, a quarter on kubelet 1.23 with a
// log agent that parses docker's JSON, every twentieth already on CRI-O,
// the rest with one bare pod each (two on every seventh), and a CronJob
// with DOCKER_HOST that blocks every node to migrate.
func fleetPlan(n int) *inspect.Plan {
	p := &inspect.Plan{DocumentMeta: inspect.NewDocumentMeta("Plan"), Target: "cri-o"}
	p.Findings = []inspect.Finding{{ID: inspect.IDDockerHost, Severity: inspect.Blocker, Subject: "CronJob/ops/prune",
		Message: "sets DOCKER_HOST=unix:///var/run/docker.sock", Remedy: "remove it"}}
	agent := inspect.Finding{ID: inspect.IDLogAgentDockerJSON, Severity: inspect.Warning, Subject: "DaemonSet/logging/fluentd",
		Message: "parses docker's JSON log format", Remedy: "parse the CRI format"}
	for i := range n {
		name := fmt.Sprintf("node-%04d", i)
		np := inspect.NodePlan{NodeSummary: inspect.NodeSummary{Name: name, Role: "worker", Runtime: "docker", RuntimeVersion: "24.0.9",
			KubeletVersion: "v1.29.4", Source: "cri-dockerd", Ready: true}, OS: "Ubuntu 22.04.4 LTS", Eligible: true, TargetVersion: "1.29"}
		own := []inspect.Finding{}
		switch {
		case i < 3:
			np.Role = "control-plane"
			own = append(own, inspect.Finding{ID: inspect.IDControlPlane, Severity: inspect.Warning, Node: name, Subject: "node/" + name, Message: "control-plane node"})
		case i%20 == 19:
			np.Runtime, np.RuntimeVersion, np.Source, np.Eligible, np.TargetVersion = "cri-o", "1.29.1", "", false, ""
			own = append(own, inspect.Finding{ID: inspect.IDNotDocker, Severity: inspect.Info, Node: name, Subject: "node/" + name, Message: "already runs cri-o 1.29.1"})
		case i%4 == 0:
			np.RuntimeVersion, np.KubeletVersion, np.Source, np.TargetVersion, np.OS = "20.10.24", "v1.23.3", "dockershim", "1.23", "CentOS Linux 7 (Core)"
			agent.Nodes = append(agent.Nodes, name)
		default:
			for j := range 1 + min(1, i%7) {
				own = append(own, inspect.Finding{ID: inspect.IDBarePod, Severity: inspect.Warning, Node: name,
					Subject: fmt.Sprintf("Pod/ci/runner-%d-%s", j, name), Message: "no controller: it is not recreated after the drain"})
			}
		}
		np.Findings = own
		np.Summary = summarizeFindings(own)
		np.Verdict = inspect.VerdictDone
		if np.Eligible {
			np.Verdict = inspect.VerdictBlocked
			np.Summary.Blockers++ // the CronJob's DOCKER_HOST
			if np.KubeletVersion == "v1.23.3" {
				np.Summary.Warnings++
			}
			for _, path := range []string{"/etc/crio/crio.conf.d/90-crimig.conf", "/var/lib/kubelet/config.yaml", "/var/lib/kubelet/kubeadm-flags.env"} {
				np.Files = append(np.Files, inspect.PlanFile{Path: path, Changed: true})
			}
		}
		p.Nodes = append(p.Nodes, np)
	}
	p.Findings = append(p.Findings, agent)
	all := append([]inspect.Finding{}, p.Findings...)
	for _, np := range p.Nodes {
		all = append(all, np.Findings...)
	}
	p.Summary = summarizeFindings(all)
	return p
}

func summarizeFindings(fs []inspect.Finding) inspect.Summary {
	var s inspect.Summary
	for _, f := range fs {
		switch f.Severity {
		case inspect.Blocker:
			s.Blockers++
		case inspect.Warning:
			s.Warnings++
		default:
			s.Infos++
		}
	}
	return s
}

var (
	rowCount = regexp.MustCompile(`,… \((\d+)\)$`)
	cellGap  = regexp.MustCompile(`\s{2,}`)
)

// nodeRows returns the node rows of a table: its lines up to the first
// blank one, without the header.
func nodeRows(t *testing.T, table string) [][]string {
	t.Helper()
	head, _, _ := strings.Cut(table, "\n\n")
	lines := strings.Split(head, "\n")
	if !strings.HasPrefix(lines[0], "NODE ") {
		t.Fatalf("no node header:\n%s", table)
	}
	var rows [][]string
	for _, l := range lines[1:] {
		// The tab writer pads cells with three spaces; a cell has one at most.
		rows = append(rows, cellGap.Split(strings.TrimSpace(l), -1))
	}
	return rows
}

// rowNodes counts the nodes a NODE cell names: "a,b" or "a,b,c,… (N)".
func rowNodes(t *testing.T, cell string) int {
	t.Helper()
	if m := rowCount.FindStringSubmatch(cell); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return len(strings.Split(cell, ","))
}

// TestFleetTableIsShort: 2,000 nodes of a few kinds fit in a few rows, each
// node counted once, the blocker count agreeing with the verdict on every
// row; wide still lists every node and finding.
func TestFleetTableIsShort(t *testing.T) {
	const n = 2000
	p := fleetPlan(n)
	var out bytes.Buffer
	if err := printPlanTable(&out, p, false); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	if lines := strings.Count(table, "\n"); lines >= 30 {
		t.Errorf("the table of %d nodes has %d lines, want fewer than 30:\n%s", n, lines, table)
	}
	total := 0
	for _, row := range nodeRows(t, table) {
		// NODE ROLE RUNTIME KUBELET SOURCE TARGET VERDICT BLOCKERS WARNINGS FILES
		if len(row) != 10 {
			t.Fatalf("row of %d cells: %q", len(row), row)
		}
		verdict, blockers := row[6], row[7]
		total += rowNodes(t, row[0])
		if (verdict == inspect.VerdictBlocked) != (blockers != "0") {
			t.Errorf("row %v: verdict %s with %s blockers", row, verdict, blockers)
		}
	}
	if total != n {
		t.Errorf("the rows count %d nodes, want %d:\n%s", total, n, table)
	}
	golden := filepath.Join("testdata", "plan-table-fleet.txt")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), table); diff != "" {
		t.Errorf("fleet table differs from %s (-want +got):\n%s", golden, diff)
	}
	if readme, err := os.ReadFile("../../README.md"); err != nil || !strings.Contains(string(readme), "```\n"+string(want)+"```") {
		t.Errorf("README.md does not show %s as the fleet's table (%v)", golden, err)
	}

	out.Reset()
	if err := printPlanTable(&out, p, true); err != nil {
		t.Fatal(err)
	}
	if rows := nodeRows(t, out.String()); len(rows) != n {
		t.Errorf("wide lists %d nodes, want %d", len(rows), n)
	}
	findings := len(allFindings(p))
	if got := strings.Count(out.String(), "\nCRIMIG"); got != findings {
		t.Errorf("wide lists %d findings, want %d", got, findings)
	}
}

// TestFindingGroups: a row per ID and severity; * for a finding that
// concerns every node; the other findings of the ID counted.
func TestFindingGroups(t *testing.T) {
	fs := []inspect.Finding{
		{ID: inspect.IDBarePod, Severity: inspect.Warning, Node: "a", Subject: "Pod/x/1", Message: "m"},
		{ID: inspect.IDBarePod, Severity: inspect.Warning, Node: "b", Subject: "Pod/x/2", Message: "m"},
		{ID: inspect.IDDockerCallers, Severity: inspect.Warning, Node: "a", Subject: "host scripts", Message: "same"},
		{ID: inspect.IDDockerCallers, Severity: inspect.Warning, Node: "b", Subject: "host scripts", Message: "same"},
		{ID: inspect.IDDaemonJSONLoss, Severity: inspect.Info, Node: "b", Subject: "live-restore", Message: "m"},
		{ID: inspect.IDDaemonJSONLoss, Severity: inspect.Warning, Node: "a", Subject: "insecure-registries", Message: "m"},
		{ID: inspect.IDDockerHost, Severity: inspect.Blocker, Subject: "CronJob/ops/prune", Message: "m"},
		{ID: inspect.IDLogAgent, Severity: inspect.Warning, Subject: "DaemonSet/l/f", Nodes: []string{"a", "b", "c", "d"}, Message: "m"},
	}
	var out bytes.Buffer
	printFindingGroups(&out, fs)
	want := `
ID SEVERITY NODES SUBJECT MESSAGE
CRIMIG013 blocker * CronJob/ops/prune m
CRIMIG021 warning a,b,c,… (4) DaemonSet/l/f m
CRIMIG031 warning a,b Pod/x/1 (+1 more) m
CRIMIG051 warning a insecure-registries m
CRIMIG052 warning a,b host scripts same
CRIMIG051 info b live-restore m
`
	var got []string
	for _, l := range strings.Split(out.String(), "\n") {
		got = append(got, strings.Join(strings.Split(l, "\t"), " "))
	}
	if diff := cmp.Diff(want, strings.Join(got, "\n")); diff != "" {
		t.Errorf("finding groups (-want +got):\n%s", diff)
	}
}
