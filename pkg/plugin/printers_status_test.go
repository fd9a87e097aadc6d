package plugin

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	fst "github.com/crimig/kubectl-crimig/pkg/fleetstatus/fleetstatustest"
)

// TestPrintFlagsStatus: status's own tables, kubectl's formats, --template
// alone as kubectl takes it, and kubectl's error for anything else.
func TestPrintFlagsStatus(t *testing.T) {
	st := fleetstatus.BuildStatus(fst.Fleet(), []string{"node-b", "node-d"})
	for _, tc := range []struct {
		args  []string
		table bool
		want  string
	}{
		{args: nil, table: true},
		{args: []string{"-o", "wide"}, table: true},
		{args: []string{"-o", "name"}, want: "nodestatus.crimig.io/node-b\nnodestatus.crimig.io/node-d\n"},
		{args: []string{"--template", "{{len .items}}"}, want: "2"},
		{args: []string{"-o", "custom-columns-file=/no/such/file"}, want: "error"},
		{args: []string{"-o", "tabel"}, want: "error"},
	} {
		var output string
		f := newPrintFlags(&output, true, "table", "wide")
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		f.AddFlags(cmd, "Output format.")
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if f.IsTable() != tc.table {
			t.Errorf("%v: IsTable() = %v", tc.args, f.IsTable())
		}
		if tc.table {
			if _, err := f.ToPrinter(); err == nil {
				t.Errorf("%v: a printer for a table format", tc.args)
			}
			continue
		}
		p, err := f.ToPrinter()
		if tc.want == "error" {
			if err == nil {
				t.Errorf("%v: no error", tc.args)
			}
			if tc.args[1] == "tabel" && !genericclioptions.IsNoCompatiblePrinterError(err) {
				t.Errorf("%v: %v is not kubectl's error", tc.args, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		var out bytes.Buffer
		if err := PrintObject(p, st, &out); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if out.String() != tc.want {
			t.Errorf("%v: printed %q, want %q", tc.args, out.String(), tc.want)
		}
	}
}
