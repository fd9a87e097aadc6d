package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"
)

// PrintFlags is -o for a command that prints its own tables next to
// kubectl's formats: json, yaml, name, go-template and jsonpath come from
// cli-runtime's PrintFlags, custom-columns from kubectl get's, and the
// command's own Tables (such as table and wide) the command prints itself.
type PrintFlags struct {
	*genericclioptions.PrintFlags
	CustomColumns *get.CustomColumnsPrintFlags
	// Tables are the formats the command prints itself.
	Tables []string
}

// NewPrintFlags returns -o with no format chosen, for a command that prints
// tables itself.
func NewPrintFlags(tables ...string) *PrintFlags {
	return &PrintFlags{PrintFlags: genericclioptions.NewPrintFlags(""), CustomColumns: &get.CustomColumnsPrintFlags{}, Tables: tables}
}

// AddFlags adds -o and the template flags (--template,
// --allow-missing-template-keys) the way kubectl get does.
func (f *PrintFlags) AddFlags(cmd *cobra.Command) {
	f.TemplatePrinterFlags.AddFlags(cmd)
	cmd.Flags().StringVarP(f.OutputFormat, "output", "o", *f.OutputFormat,
		fmt.Sprintf("Output format. One of: (%s).", strings.Join(f.AllowedFormats(), ", ")))
	f.OutputFlagSpecified = func() bool { return cmd.Flag("output").Changed }
}

// AllowedFormats lists every -o value: the command's tables, then kubectl's.
func (f *PrintFlags) AllowedFormats() []string {
	return slices.Concat(f.Tables, f.PrintFlags.AllowedFormats(), f.CustomColumns.AllowedFormats())
}

// Format is the -o value; "" when neither -o nor --template was given.
func (f *PrintFlags) Format() string {
	if *f.OutputFormat == "" && *f.TemplatePrinterFlags.TemplateArgument != "" {
		return "go-template"
	}
	return *f.OutputFormat
}

// IsTable reports whether the command prints the format itself: one of its
// Tables, or its default when no format was given.
func (f *PrintFlags) IsTable() bool {
	return f.Format() == "" || slices.Contains(f.Tables, f.Format())
}

// ToPrinter is the kubectl printer for a format that is not one of the
// command's tables. An unknown format gets kubectl's error, listing every
// format the command takes.
func (f *PrintFlags) ToPrinter() (printers.ResourcePrinter, error) {
	if f.IsTable() {
		return nil, fmt.Errorf("-o %s is printed by the command itself", f.Format())
	}
	p, err := f.PrintFlags.ToPrinter()
	if !genericclioptions.IsNoCompatiblePrinterError(err) {
		return p, err
	}
	p, err = f.CustomColumns.ToPrinter(f.Format())
	if !genericclioptions.IsNoCompatiblePrinterError(err) {
		return p, err
	}
	return nil, genericclioptions.NoCompatiblePrinterError{OutputFormat: f.OutputFormat, AllowedFormats: f.AllowedFormats()}
}

// PrintObject prints obj with a kubectl printer the way kubectl get prints
// what it read: in its unstructured (JSON) form. Every printer then sees the
// JSON field names, and -o name and -o custom-columns print each item of a
// list (an object with Items whose items carry kind and metadata.name).
func PrintObject(p printers.ResourcePrinter, obj runtime.Object, out io.Writer) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	u, err := runtime.Decode(unstructured.UnstructuredJSONScheme, data)
	if err != nil {
		return fmt.Errorf("printing %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, err)
	}
	return p.PrintObj(u, out)
}
