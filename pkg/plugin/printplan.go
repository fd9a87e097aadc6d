package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// printPlan prints the plan as -o asks. The table and wide are crimig's own;
// every other format is cli-runtime's printer over the plan document, and
// name and custom-columns walk its nodes (planItems).
func printPlan(out io.Writer, p *inspect.Plan, pf *printFlags) error {
	if format, own := pf.ownFormat(); own {
		return printPlanTable(out, p, format == "wide")
	}
	printer, err := pf.ToPrinter()
	if err != nil {
		return err
	}
	if !pf.printsItems() {
		return printer.PrintObj(p, out)
	}
	items, err := planItems(p)
	if err != nil {
		return err
	}
	return printer.PrintObj(items, out)
}

// planItems is what -o name and -o custom-columns walk, as kubectl's
// printers walk a List: one item per node of the plan. An item is the
// node's entry of the document's .nodes[], so custom-columns reads the
// fields -o json shows (NODE:.name,VERDICT:.verdict), named as kubectl names
// the Node: -o name prints node/<name>.
func planItems(p *inspect.Plan) (*unstructured.UnstructuredList, error) {
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}}
	for _, np := range p.Nodes {
		b, err := json.Marshal(np)
		if err != nil {
			return nil, err
		}
		item := map[string]any{}
		if err := json.Unmarshal(b, &item); err != nil {
			return nil, err
		}
		u := unstructured.Unstructured{Object: item}
		u.SetAPIVersion("v1")
		u.SetKind("Node")
		u.SetName(np.Name)
		list.Items = append(list.Items, u)
	}
	return list, nil
}

// printNodeDetail shows the steps and file diffs when one node is planned,
// which is what a change review needs.
func printNodeDetail(out io.Writer, n inspect.NodePlan) {
	fmt.Fprintf(out, "\nSteps on %s:\n", n.Name)
	for i, s := range n.Steps {
		mark := ""
		if s.Detached {
			mark = " [detached host job]"
		}
		fmt.Fprintf(out, "  %2d. %-10s %s%s\n", i+1, s.Name, s.Description, mark)
	}
	if len(n.Images) > 0 {
		fmt.Fprintf(out, "\nImages %s needs after the swap (%d; migrate --carry-images copies them from docker):\n", n.Name, len(n.Images))
		for _, img := range n.Images {
			fmt.Fprintf(out, "  %s\n", img)
		}
	}
	for _, f := range n.Files {
		if !f.Changed {
			continue
		}
		fmt.Fprintf(out, "\n%s (mode %s):\n", f.Path, f.Mode)
		fmt.Fprintf(out, "  why: %s\n", f.Reason)
		for _, e := range f.Edits {
			fmt.Fprintf(out, "  - %s: %s\n", editSummary(e), e.Reason)
		}
		fmt.Fprint(out, indent(f.Diff))
	}
}

// editSummary reads as the diff does: what is set, changed or removed.
func editSummary(e hostconf.Edit) string {
	switch {
	case e.Before == "":
		return fmt.Sprintf("set %s = %s", e.Key, e.After)
	case e.After == "":
		return fmt.Sprintf("remove %s (was %s)", e.Key, e.Before)
	}
	return fmt.Sprintf("%s: %s → %s", e.Key, e.Before, e.After)
}

func changedFiles(n inspect.NodePlan) int {
	c := 0
	for _, f := range n.Files {
		if f.Changed {
			c++
		}
	}
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if line != "" {
			b.WriteString("    " + line)
		}
	}
	return b.String()
}
