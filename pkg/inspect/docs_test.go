package inspect

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestEveryFindingIsDocumented keeps docs/findings.md and the catalogue in step.
func TestEveryFindingIsDocumented(t *testing.T) {
	src, err := os.ReadFile("findings.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/findings.md")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`"(CRIMIG\d{3})"`).FindAllStringSubmatch(string(src), -1)
	if len(ids) < 30 {
		t.Fatalf("found only %d IDs in findings.go", len(ids))
	}
	for _, m := range ids {
		if !strings.Contains(string(doc), "| "+m[1]+" |") {
			t.Errorf("%s is not documented in docs/findings.md", m[1])
		}
	}
}
