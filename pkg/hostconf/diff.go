package hostconf

import (
	"fmt"
	"strings"

	"github.com/aymanbagabas/go-udiff/lcs"
)

// diffContext is the number of unchanged lines around each hunk, as diff -u.
const diffContext = 3

// UnifiedDiff returns a unified diff of before and after with a/ b/
// headers, or "" when they are equal. A nil before means a new file and is
// shown against /dev/null.
//
// The longest common subsequence is go-udiff's; the hunks are written here,
// because its own ToUnified (v0.3.1) numbers the new file's lines wrong after
// two changes merge into one hunk, and its Strings diffs characters, not
// lines.
func UnifiedDiff(path string, before, after []byte) string {
	if before != nil && string(before) == string(after) {
		return ""
	}
	ops := diffOps(diffLines(before), diffLines(after))
	var sb strings.Builder
	from := "a" + path
	if before == nil {
		from = "/dev/null"
	}
	fmt.Fprintf(&sb, "--- %s\n+++ b%s\n", from, path)
	for _, h := range hunks(ops) {
		writeHunk(&sb, ops[h[0]:h[1]])
	}
	return sb.String()
}

// diffLines splits into lines, marking a missing final newline the way diff
// does so that adding one shows up as a change.
func diffLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	noEOL := !strings.HasSuffix(s, "\n")
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if noEOL {
		lines[len(lines)-1] += "\n\\ No newline at end of file"
	}
	return lines
}

type diffOp struct {
	kind       byte // ' ', '-', '+'
	text       string
	aLine, bLn int // 1-based line numbers before the op
}

// diffOps turns the longest common subsequence of the lines, each distinct
// line one symbol, into an edit script.
func diffOps(a, b []string) []diffOp {
	ids := map[string]rune{}
	symbols := func(lines []string) []rune {
		out := make([]rune, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = rune(len(ids))
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	var ops []diffOp
	ai, bi := 0, 0
	same := func(to int) {
		for ; ai < to; ai, bi = ai+1, bi+1 {
			ops = append(ops, diffOp{' ', a[ai], ai + 1, bi + 1})
		}
	}
	for _, d := range lcs.DiffRunes(symbols(a), symbols(b)) {
		same(d.Start)
		for ; ai < d.End; ai++ {
			ops = append(ops, diffOp{'-', a[ai], ai + 1, bi + 1})
		}
		for ; bi < d.ReplEnd; bi++ {
			ops = append(ops, diffOp{'+', b[bi], ai + 1, bi + 1})
		}
	}
	same(len(a))
	return ops
}

// hunks groups changes with diffContext lines around them, merging groups
// whose context would overlap.
func hunks(ops []diffOp) [][2]int {
	var out [][2]int
	for i := 0; i < len(ops); i++ {
		if ops[i].kind == ' ' {
			continue
		}
		start := max(0, i-diffContext)
		end := min(len(ops), i+1+diffContext)
		if len(out) > 0 && start <= out[len(out)-1][1] {
			out[len(out)-1][1] = end
		} else {
			out = append(out, [2]int{start, end})
		}
	}
	return out
}

func writeHunk(sb *strings.Builder, ops []diffOp) {
	var na, nb int
	for _, op := range ops {
		if op.kind != '+' {
			na++
		}
		if op.kind != '-' {
			nb++
		}
	}
	fmt.Fprintf(sb, "@@ -%s +%s @@\n", hunkRange(ops[0].aLine, na), hunkRange(ops[0].bLn, nb))
	for _, op := range ops {
		sb.WriteByte(op.kind)
		sb.WriteString(op.text)
		sb.WriteByte('\n')
	}
}

// hunkRange follows GNU diff: an empty range names the line before it.
func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
