package hostconf

import (
	"fmt"
	"strings"
)

// envFile is a shell-style environment file (kubeadm-flags.env,
// /etc/sysconfig/kubelet, /etc/default/kubelet) kept line by line so that
// comments and unrelated lines survive an edit byte for byte.
type envFile struct {
	lines []string
	final bool // whether the last line ended with a newline
}

// envAssign is one KEY=value line, with the value's quoting remembered so
// it is written back the same way.
type envAssign struct {
	Prefix string // "export " or ""
	Key    string
	Quote  byte // '"', '\'' or 0 for unquoted
	Value  string
}

func parseEnvFile(b []byte) envFile {
	s := string(b)
	f := envFile{final: strings.HasSuffix(s, "\n")}
	s = strings.TrimSuffix(s, "\n")
	if s == "" && !f.final {
		return f
	}
	f.lines = strings.Split(s, "\n")
	return f
}

func (f envFile) bytes() []byte {
	if len(f.lines) == 0 {
		return nil
	}
	s := strings.Join(f.lines, "\n")
	if f.final {
		s += "\n"
	}
	return []byte(s)
}

// parseAssign recognises KEY=value lines; anything else (comments, blank
// lines, shell code) is not an assignment and is left alone.
func parseAssign(line string) (envAssign, bool, error) {
	t := strings.TrimSpace(line)
	var a envAssign
	if strings.HasPrefix(t, "export ") {
		a.Prefix = "export "
		t = strings.TrimSpace(strings.TrimPrefix(t, "export "))
	}
	key, val, ok := strings.Cut(t, "=")
	if !ok || !isEnvName(key) {
		return a, false, nil
	}
	a.Key = key
	if len(val) > 0 && (val[0] == '"' || val[0] == '\'') {
		inner, err := unquoteWhole(val)
		if err == nil {
			a.Quote, a.Value = val[0], inner
			return a, true, nil
		}
		// A quote that does not wrap the whole value (--a="b" --c=d) is
		// part of the flag list, handled by the flag tokenizer.
	}
	a.Value = val
	return a, true, nil
}

// unquoteWhole succeeds only when the quote at val[0] closes at the very end.
func unquoteWhole(val string) (string, error) {
	q := val[0]
	var b strings.Builder
	for i := 1; i < len(val); i++ {
		c := val[i]
		switch {
		case c == '\\' && q == '"' && i+1 < len(val):
			i++
			b.WriteByte(val[i])
		case c == q:
			if strings.TrimSpace(val[i+1:]) != "" {
				return "", fmt.Errorf("value continues after closing quote")
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated %c quote", q)
}

func (a envAssign) String() string {
	switch a.Quote {
	case '"':
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a.Value)
		return a.Prefix + a.Key + `="` + v + `"`
	case '\'':
		return a.Prefix + a.Key + "='" + a.Value + "'"
	}
	return a.Prefix + a.Key + "=" + a.Value
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}
