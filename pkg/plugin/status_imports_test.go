package plugin

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestStatusPrintPathImports: status -o and --watch (status.go, through
// printers.go and fleetstatus) never reach the interactive view, which
// lives in status_tui.go; fleetstatus's own test checks its dependencies.
func TestStatusPrintPathImports(t *testing.T) {
	fset := token.NewFileSet()
	for _, name := range []string{"status.go", "printers.go"} {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Imports) == 0 {
			t.Fatalf("%s: no imports read", name)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(path, "/pkg/tui") || strings.HasPrefix(path, "github.com/charmbracelet/") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
