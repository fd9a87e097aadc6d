package hostconf

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// yamlLines edits the top-level scalar keys of a block-style YAML mapping
// by line. A decode/re-encode round trip would drop comments and reorder
// keys, which makes the plan's diff unreadable.
type yamlLines struct {
	lines []string
	final bool
}

var (
	topKey     = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*:(\s|$)`)
	safeScalar = regexp.MustCompile(`^[A-Za-z0-9_./][A-Za-z0-9_./:+-]*$`)
)

func parseYAMLLines(doc []byte) *yamlLines {
	s := string(doc)
	y := &yamlLines{final: strings.HasSuffix(s, "\n") || s == ""}
	s = strings.TrimSuffix(s, "\n")
	if s != "" {
		y.lines = strings.Split(s, "\n")
	}
	return y
}

// check refuses multi-document files: the kubelet reads one document, and
// editing "the" document would be ambiguous.
func (y *yamlLines) check() error {
	content := false
	for i, l := range y.lines {
		t := strings.TrimRight(l, " \t\r")
		if t == "---" && content {
			return fmt.Errorf("%s line %d: more than one YAML document", KubeletConfigPath, i+1)
		}
		if t != "" && t != "---" && !strings.HasPrefix(t, "#") {
			content = true
		}
	}
	return nil
}

func (y *yamlLines) bytes() []byte {
	s := strings.Join(y.lines, "\n")
	if y.final || len(y.lines) > 0 {
		s += "\n"
	}
	return []byte(s)
}

// keyAt returns the top-level key on line i, or "".
func (y *yamlLines) keyAt(i int) string {
	m := topKey.FindStringSubmatch(y.lines[i])
	if m == nil {
		return ""
	}
	return m[1]
}

// set replaces the value of key, keeping a trailing comment, or inserts the
// key. A nested value under the key (unexpected for these scalars) is
// dropped with it.
func (y *yamlLines) set(key, value string) {
	for i := range y.lines {
		if y.keyAt(i) != key {
			continue
		}
		comment := trailingComment(y.lines[i])
		y.lines[i] = key + ": " + value + comment
		end := i + 1
		for end < len(y.lines) && isContinuation(y.lines[end]) {
			end++
		}
		y.lines = append(y.lines[:i+1], y.lines[end:]...)
		return
	}
	y.insert(key + ": " + value)
}

// isContinuation: indented lines belong to the key above; so do "- " items
// at column 0, which YAML allows for a sequence value.
func isContinuation(l string) bool {
	return strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "- ") || l == "-"
}

// insert keeps kubeadm's alphabetical key order when the file has it, and
// appends otherwise (or at the end of the document, before "...").
func (y *yamlLines) insert(line string) {
	key := topKey.FindStringSubmatch(line)[1]
	sorted, at := y.sortedInsertPoint(key)
	if !sorted {
		at = len(y.lines)
		for at > 0 && strings.TrimSpace(y.lines[at-1]) == "..." {
			at--
		}
	}
	y.lines = append(y.lines[:at], append([]string{line}, y.lines[at:]...)...)
}

// sortedInsertPoint finds the first key that sorts after key. kubeadm
// sorts every key, apiVersion and kind included; other tools put those two
// first and sort the rest, so they are left out when they break the order.
func (y *yamlLines) sortedInsertPoint(key string) (bool, int) {
	var idx []int
	for i := range y.lines {
		if y.keyAt(i) != "" {
			idx = append(idx, i)
		}
	}
	others := slices.DeleteFunc(slices.Clone(idx), func(i int) bool { k := y.keyAt(i); return k == "apiVersion" || k == "kind" })
	switch {
	case len(others) == 0:
		return false, 0 // nothing shows which convention the file follows
	case !y.sortedKeys(idx):
		if !y.sortedKeys(others) {
			return false, 0
		}
		idx = others
	}
	for _, i := range idx {
		if y.keyAt(i) > key {
			for i > 0 && strings.HasPrefix(strings.TrimSpace(y.lines[i-1]), "#") {
				i--
			}
			return true, i
		}
	}
	return false, 0
}

func (y *yamlLines) sortedKeys(idx []int) bool {
	for n := 1; n < len(idx); n++ {
		if y.keyAt(idx[n]) < y.keyAt(idx[n-1]) {
			return false
		}
	}
	return true
}

// trailingComment keeps " # why" after a scalar. Values crimig replaces are
// plain scalars, so a " #" inside quotes is not a concern in practice.
func trailingComment(l string) string {
	if i := strings.Index(l, " #"); i >= 0 {
		for i > 0 && (l[i-1] == ' ' || l[i-1] == '\t') {
			i-- // keep the operator's alignment
		}
		return l[i:]
	}
	return ""
}

// yamlScalar writes plain scalars when that is unambiguous and quotes
// otherwise (a value that YAML would read as a bool, number or null).
func yamlScalar(v string) string {
	if _, err := strconv.ParseFloat(v, 64); err != nil && safeScalar.MatchString(v) {
		switch strings.ToLower(v) {
		case "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n":
		default:
			return v
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}
