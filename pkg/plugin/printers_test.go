package plugin

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// parsedPrintFlags binds plan's -o to a command and parses args, as cobra
// does for `kubectl crimig plan args...`.
func parsedPrintFlags(t *testing.T, args ...string) *printFlags {
	t.Helper()
	var output string
	pf := newPrintFlags(&output, true, "table", "wide")
	cmd := &cobra.Command{Use: "plan"}
	pf.AddFlags(cmd, "Output format.")
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return pf
}

func twoNodePlan() *inspect.Plan {
	return &inspect.Plan{DocumentMeta: inspect.NewDocumentMeta("Plan"), Target: "cri-o",
		Summary:  inspect.Summary{Blockers: 1, Warnings: 1},
		Findings: []inspect.Finding{{ID: inspect.IDDockerHost, Severity: inspect.Blocker, Subject: "CronJob/ops/prune", Message: "sets DOCKER_HOST"}},
		Nodes: []inspect.NodePlan{
			{NodeSummary: inspect.NodeSummary{Name: "node-a", Role: "worker", Runtime: "docker", RuntimeVersion: "20.10.24", KubeletVersion: "v1.29.4"},
				Verdict: inspect.VerdictBlocked, TargetVersion: "1.29", Eligible: true, Summary: inspect.Summary{Blockers: 1, Warnings: 1},
				Findings: []inspect.Finding{{ID: inspect.IDBarePod, Severity: inspect.Warning, Node: "node-a", Subject: "Pod/default/x", Message: "no controller"}}},
			{NodeSummary: inspect.NodeSummary{Name: "node-b", Role: "worker", Runtime: "cri-o", RuntimeVersion: "1.29.1", KubeletVersion: "v1.29.4"},
				Verdict: inspect.VerdictDone, Summary: inspect.Summary{Infos: 1}, Findings: []inspect.Finding{}},
		}}
}

func printWith(t *testing.T, p *inspect.Plan, args ...string) (string, error) {
	t.Helper()
	pf := parsedPrintFlags(t, args...)
	if err := pf.Validate(); err != nil {
		return "", err
	}
	var out bytes.Buffer
	err := printPlan(&out, p, pf)
	return out.String(), err
}

// TestPlanOutputFormats: each -o format prints what kubectl's would for
// the plan document; name and custom-columns walk its nodes.
func TestPlanOutputFormats(t *testing.T) {
	p := twoNodePlan()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-o", "name"}, "node/node-a\nnode/node-b\n"},
		{[]string{"-o", "jsonpath={.summary.blockers} {.nodes[*].name}"}, "1 node-a node-b"},
		{[]string{"-o", `jsonpath={range .nodes[*]}{.name}={.verdict}{"\n"}{end}`}, "node-a=blocked\nnode-b=done\n"},
		{[]string{"-o", "go-template={{.kind}} {{len .nodes}}"}, "Plan 2"},
		{[]string{"--template", "{{.apiVersion}}"}, "crimig.io/v1alpha1"},
		{[]string{"-o", "custom-columns=NODE:.name,VERDICT:.verdict,BLOCKERS:.summary.blockers"},
			"NODE     VERDICT   BLOCKERS\nnode-a   blocked   1\nnode-b   done      0\n"},
	}
	for _, c := range cases {
		got, err := printWith(t, p, c.args...)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if got != c.want {
			t.Errorf("%v:\n%s\nwant:\n%s", c.args, got, c.want)
		}
	}
}

// TestPlanJSONLayout: -o json and -o yaml are the plan document, its keys
// in the order users know (apiVersion and kind first).
func TestPlanJSONLayout(t *testing.T) {
	p := twoNodePlan()
	out, err := printWith(t, p, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := json.MarshalIndent(p, "", "    ")
	if out != string(plain)+"\n" {
		t.Errorf("-o json is not the plan document:\n%s\nwant:\n%s", out, plain)
	}
	if !strings.HasPrefix(out, "{\n    \"apiVersion\": \"crimig.io/v1alpha1\",\n    \"kind\": \"Plan\",\n    \"target\"") {
		t.Errorf("-o json does not start with apiVersion, kind, target:\n%s", out)
	}
	out, err = printWith(t, p, "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var back inspect.Plan
	if err := yaml.UnmarshalStrict([]byte(out), &back); err != nil {
		t.Fatalf("-o yaml does not parse: %v\n%s", err, out)
	}
	if diff := cmp.Diff(p, &back); diff != "" {
		t.Errorf("-o yaml round trip (-want +got):\n%s", diff)
	}
}

// TestPlanOutputErrors: a wrong -o gets kubectl's message, before any API
// call (Validate), and so does a template that does not parse.
func TestPlanOutputErrors(t *testing.T) {
	for args, want := range map[string]string{
		"xml":             `unable to match a printer suitable for the output format "xml", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,name,table,template,templatefile,wide,yaml`,
		"jsonpath={.x":    "unclosed action",
		"custom-columns=": "custom-columns format specified but no custom columns given",
		"go-template":     "template format specified but no template given",
	} {
		if _, err := printWith(t, twoNodePlan(), "-o", args); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("-o %s: error %v, want %q", args, err, want)
		}
	}
	for _, own := range []string{"", "table", "wide"} {
		pf := parsedPrintFlags(t, "-o", own)
		if err := pf.Validate(); err != nil {
			t.Errorf("-o %q: %v", own, err)
		}
	}
}
