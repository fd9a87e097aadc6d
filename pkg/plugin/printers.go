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

// printFlags binds -o as kubectl get binds it, on cli-runtime's PrintFlags,
// for plan, status, version and migrate's events:
//   - json, yaml, kyaml and the templates (go-template, jsonpath and their
//     -file forms) print the command's document with cli-runtime's printers;
//   - with items, name and kubectl's custom-columns print one line per item
//     of the document, as kubectl's printers do per item of a List;
//   - the command's own formats ("" and those it names, such as wide) it
//     prints itself.
//
// An unknown format gets cli-runtime's error, which lists the allowed ones.
type printFlags struct {
	print   *genericclioptions.PrintFlags
	columns *get.CustomColumnsPrintFlags
	own     []string
}

// newPrintFlags binds -o to output. own are the formats the command prints
// itself besides the default ""; items allows name and custom-columns.
func newPrintFlags(output *string, items bool, own ...string) *printFlags {
	f := &printFlags{print: genericclioptions.NewPrintFlags(""), own: own}
	f.print.OutputFormat = output
	f.print.NamePrintFlags = nil
	if items {
		f.print.NamePrintFlags = genericclioptions.NewNamePrintFlags("")
		f.columns = get.NewCustomColumnsPrintFlags()
	}
	return f
}

func (f *printFlags) format() string {
	if f.print.OutputFormat == nil {
		return ""
	}
	return *f.print.OutputFormat
}

// AllowedFormats lists every -o value, the command's own first.
func (f *printFlags) AllowedFormats() []string {
	out := append([]string{}, f.own...)
	for _, format := range f.print.AllowedFormats() {
		if !slices.Contains(f.own, format) {
			out = append(out, format)
		}
	}
	if f.columns != nil {
		out = append(out, f.columns.AllowedFormats()...)
	}
	return out
}

// AddFlags binds -o and the template flags (--template,
// --allow-missing-template-keys) as kubectl get does; objects printed here
// have no managedFields, so --show-managed-fields is left out.
func (f *printFlags) AddFlags(cmd *cobra.Command, help string) {
	cmd.Flags().StringVarP(f.print.OutputFormat, "output", "o", f.format(),
		fmt.Sprintf("%s One of: (%s). See https://kubernetes.io/docs/reference/kubectl/jsonpath/ for jsonpath.", help, strings.Join(f.AllowedFormats(), ", ")))
	f.print.TemplatePrinterFlags.AddFlags(cmd)
	f.print.OutputFlagSpecified = func() bool { return cmd.Flag("output").Changed }
}

// Format is the -o value in effect: go-template when only --template was
// given, as in kubectl.
func (f *printFlags) Format() string {
	if f.templateOnly() {
		return "go-template"
	}
	return f.format()
}

// IsTable reports whether the command prints the format itself: its
// default, or one of the formats it names (such as wide).
func (f *printFlags) IsTable() bool {
	_, own := f.ownFormat()
	return own
}

// ownFormat returns the format when the command prints it itself.
func (f *printFlags) ownFormat() (string, bool) {
	format := f.format()
	if f.templateOnly() {
		return "", false
	}
	return format, format == "" || slices.Contains(f.own, format)
}

// templateOnly: --template without -o means -o go-template, as in kubectl.
func (f *printFlags) templateOnly() bool {
	t := f.print.TemplatePrinterFlags.TemplateArgument
	specified := f.print.OutputFlagSpecified != nil && f.print.OutputFlagSpecified()
	return f.format() == "" && t != nil && *t != "" && !specified
}

// printsItems reports whether the printer walks the document's items.
func (f *printFlags) printsItems() bool {
	format, _, _ := strings.Cut(f.format(), "=")
	return f.columns != nil && (format == "name" || format == "custom-columns" || format == "custom-columns-file")
}

// ToPrinter returns cli-runtime's printer for a format the command does not
// print itself.
func (f *printFlags) ToPrinter() (printers.ResourcePrinter, error) {
	format := f.format()
	if _, own := f.ownFormat(); own {
		return nil, fmt.Errorf("output format %q is printed by the command itself", format)
	}
	if f.columns != nil {
		if p, err := f.columns.ToPrinter(format); !genericclioptions.IsNoCompatiblePrinterError(err) {
			return p, err
		}
	}
	p, err := f.print.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return nil, genericclioptions.NoCompatiblePrinterError{OutputFormat: &format, AllowedFormats: f.AllowedFormats()}
	}
	return p, err
}

// Validate checks the format and compiles its template, without printing.
func (f *printFlags) Validate() error {
	if _, own := f.ownFormat(); own {
		return nil
	}
	_, err := f.ToPrinter()
	return err
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
