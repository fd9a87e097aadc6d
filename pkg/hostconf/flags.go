package hostconf

import (
	"fmt"
	"strings"
)

// token is one shell word of a flag list: Raw is the original text (kept
// when the flag is not touched, so 'quoted' values stay quoted), Text the
// word after quote removal.
type token struct {
	Raw, Text string
}

// tokenize splits a kubelet argument string the way a shell would: blanks
// separate words, '…' is literal, "…" allows \" and \\, and a backslash
// outside quotes escapes the next character.
func tokenize(s string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i >= len(s) {
			return toks, nil
		}
		start := i
		text, next, err := scanWord(s, i)
		if err != nil {
			return nil, err
		}
		toks = append(toks, token{Raw: s[start:next], Text: text})
		i = next
	}
}

func scanWord(s string, i int) (string, int, error) {
	var b strings.Builder
	for i < len(s) && !isBlank(s[i]) {
		c := s[i]
		switch c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", 0, fmt.Errorf("unterminated ' quote at column %d", i+1)
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 2
		case '"':
			n, err := scanDouble(s, i, &b)
			if err != nil {
				return "", 0, err
			}
			i = n
		case '\\':
			if i+1 < len(s) {
				b.WriteByte(s[i+1])
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	if i > len(s) {
		i = len(s)
	}
	return b.String(), i, nil
}

func scanDouble(s string, i int, b *strings.Builder) (int, error) {
	start := i
	for i++; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == '$' || s[i+1] == '`'):
			i++
			b.WriteByte(s[i])
		case s[i] == '"':
			return i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return 0, fmt.Errorf("unterminated \" quote at column %d", start+1)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// cliFlag is one command-line item: "--name=value", "--name value", a bare
// "--name", or a stray word (Name == "").
type cliFlag struct {
	Name     string
	Value    string
	HasValue bool
	Raw      []string
	changed  bool
}

// parseFlags groups tokens into flags. "--name value" is recognised when the
// next word does not start with "-"; the kubelet takes no positional
// arguments, so such a word can only be a value.
func parseFlags(toks []token) []cliFlag {
	var out []cliFlag
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if !strings.HasPrefix(t.Text, "-") || t.Text == "-" || t.Text == "--" {
			out = append(out, cliFlag{Raw: []string{t.Raw}})
			continue
		}
		name := strings.TrimLeft(t.Text, "-")
		f := cliFlag{Raw: []string{t.Raw}}
		if n, v, ok := strings.Cut(name, "="); ok {
			f.Name, f.Value, f.HasValue = n, v, true
		} else {
			f.Name = name
			if i+1 < len(toks) && !strings.HasPrefix(toks[i+1].Text, "-") {
				f.Value, f.HasValue = toks[i+1].Text, true
				f.Raw = append(f.Raw, toks[i+1].Raw)
				i++
			}
		}
		out = append(out, f)
	}
	return out
}

func (f cliFlag) String() string {
	if !f.changed {
		return strings.Join(f.Raw, " ")
	}
	if !f.HasValue {
		return "--" + f.Name
	}
	return "--" + f.Name + "=" + shellQuote(f.Value)
}

func renderFlags(fs []cliFlag) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, f.String())
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes only when needed; endpoints and image names never need it.
func shellQuote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t'\"\\$`") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
