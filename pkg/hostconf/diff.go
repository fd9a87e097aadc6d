package hostconf

import (
	"fmt"
	"strings"
)

const diffContext = 3

// maxDiffCells bounds the LCS table; config files are small, and a larger
// pair is shown as one replace hunk rather than spending memory on it.
const maxDiffCells = 4 << 20

// UnifiedDiff returns a unified diff of before and after with a/ b/
// headers, or "" when they are equal. A nil before means a new file and is
// shown against /dev/null.
func UnifiedDiff(path string, before, after []byte) string {
	if before != nil && string(before) == string(after) {
		return ""
	}
	a, b := diffLines(before), diffLines(after)
	ops := diffOps(a, b)
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

// diffOps computes an edit script from a longest common subsequence,
// after trimming the common prefix and suffix that dominate config edits.
func diffOps(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []diffOp
	ai, bi := 0, 0
	emit := func(k byte, t string) {
		ops = append(ops, diffOp{k, t, ai + 1, bi + 1})
		switch k {
		case ' ':
			ai, bi = ai+1, bi+1
		case '-':
			ai++
		case '+':
			bi++
		}
	}
	for _, l := range a[:pre] {
		emit(' ', l)
	}
	for _, op := range lcsOps(a[pre:len(a)-suf], b[pre:len(b)-suf]) {
		emit(op.kind, op.text)
	}
	for _, l := range a[len(a)-suf:] {
		emit(' ', l)
	}
	return ops
}

func lcsOps(a, b []string) []diffOp {
	n, m := len(a), len(b)
	if n*m > maxDiffCells {
		return replaceOps(a, b)
	}
	t := make([][]int32, n+1)
	for i := range t {
		t[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, diffOp{kind: ' ', text: a[i]})
			i, j = i+1, j+1
		case i < n && (j == m || t[i+1][j] >= t[i][j+1]):
			ops = append(ops, diffOp{kind: '-', text: a[i]})
			i++
		default:
			ops = append(ops, diffOp{kind: '+', text: b[j]})
			j++
		}
	}
	return ops
}

func replaceOps(a, b []string) []diffOp {
	ops := make([]diffOp, 0, len(a)+len(b))
	for _, l := range a {
		ops = append(ops, diffOp{kind: '-', text: l})
	}
	for _, l := range b {
		ops = append(ops, diffOp{kind: '+', text: l})
	}
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
