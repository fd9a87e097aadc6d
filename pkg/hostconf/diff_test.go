package hostconf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var diffCases = []struct{ name, a, b string }{
	{"one line", "a\n", "b\n"},
	{"insert middle", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\n5\nX\n6\n7\n8\n9\n10\n"},
	{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n", "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n"},
	{"merged hunks", "1\n2\n3\n4\n5\n6\n7\n", "1\nA\n3\n4\n5\nB\n7\n"},
	{"delete all", "a\nb\n", ""},
	{"no final newline", "a\nb", "a\nb\n"},
	{"replace block", "k: 1\nx: 2\ny: 3\nz: 4\n", "k: 1\nx: 9\ny: 8\nz: 4\n"},
	// Two changes merged into one hunk move the next hunk's new line numbers.
	{"lines added in a merged hunk", numbered(1, 40), strings.Replace(strings.Replace(numbered(1, 40), "15\n", "F\n", 1), "18\n", "18\nA\nB\n", 1) + "41\n"},
}

// numbered is the lines from..to, one number each.
func numbered(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

func TestUnifiedDiff(t *testing.T) {
	if UnifiedDiff("/x", []byte("same\n"), []byte("same\n")) != "" {
		t.Error("equal inputs must give an empty diff")
	}
	got := UnifiedDiff("/etc/x.conf", nil, []byte("a\nb\n"))
	if want := "--- /dev/null\n+++ b/etc/x.conf\n@@ -0,0 +1,2 @@\n+a\n+b\n"; got != want {
		t.Errorf("new file:\n%s\nwant:\n%s", got, want)
	}
	for _, c := range diffCases {
		t.Run(c.name, func(t *testing.T) {
			got := UnifiedDiff("/f", []byte(c.a), []byte(c.b))
			if want := gnuDiff(t, c.a, c.b); want != "" && got != want {
				t.Errorf("got:\n%s\nGNU diff -u:\n%s", got, want)
			}
			if !strings.HasPrefix(got, "--- a/f\n+++ b/f\n@@ ") {
				t.Errorf("bad headers:\n%s", got)
			}
		})
	}
}

// gnuDiff returns GNU diff's output with crimig's headers, or "" when diff
// is not installed (the header check above still runs).
func gnuDiff(t *testing.T, a, b string) string {
	t.Helper()
	if _, err := exec.LookPath("diff"); err != nil {
		return ""
	}
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if os.WriteFile(pa, []byte(a), 0o644) != nil || os.WriteFile(pb, []byte(b), 0o644) != nil {
		t.Fatal("write temp files")
	}
	out, _ := exec.Command("diff", "-u", "--label", "a/f", "--label", "b/f", pa, pb).Output()
	return string(out)
}
