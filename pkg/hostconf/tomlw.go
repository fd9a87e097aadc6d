package hostconf

import (
	"fmt"
	"strings"
)

// tomlw builds TOML text by hand rather than through an encoder: the output
// is meant to be read in a plan, so it carries comments saying where each
// value came from and keeps a fixed, reviewable layout.
type tomlw struct {
	b     strings.Builder
	cur   string // the table last opened, to name the settings in edits
	edits []Edit
}

// why records the reason for the setting key of the current table (the
// table itself when key is ""), next to the line that writes it, for the
// plan's list of edits.
func (w *tomlw) why(key, value, reason string) {
	switch {
	case key == "":
		key = w.cur
	case w.cur != "":
		key = w.cur + "." + key
	}
	w.edits = append(w.edits, Edit{Key: key, After: value, Reason: reason})
}

func (w *tomlw) comment(format string, args ...any) {
	fmt.Fprintf(&w.b, "# "+format+"\n", args...)
}

func (w *tomlw) blank() {
	if w.b.Len() > 0 {
		w.b.WriteString("\n")
	}
}

func (w *tomlw) table(name string) {
	w.blank()
	fmt.Fprintf(&w.b, "[%s]\n", name)
	w.cur = name
}

func (w *tomlw) arrayTable(name string) {
	w.blank()
	fmt.Fprintf(&w.b, "[[%s]]\n", name)
	w.cur = name
}

func (w *tomlw) str(key, v string) {
	fmt.Fprintf(&w.b, "%s = %s\n", key, tomlString(v))
}

func (w *tomlw) boolean(key string, v bool) {
	fmt.Fprintf(&w.b, "%s = %t\n", key, v)
}

func (w *tomlw) integer(key string, v int) {
	fmt.Fprintf(&w.b, "%s = %d\n", key, v)
}

func (w *tomlw) strs(key string, vs []string) {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = tomlString(v)
	}
	fmt.Fprintf(&w.b, "%s = [%s]\n", key, strings.Join(q, ", "))
}

func (w *tomlw) bytes() []byte { return []byte(w.b.String()) }

// generated is a file crimig renders whole, with the reasons for its settings.
type generated struct {
	content []byte
	edits   []Edit
}

func (w *tomlw) generated() generated { return generated{content: w.bytes(), edits: w.edits} }

// tomlString quotes s as a TOML basic string. strconv.Quote is not usable:
// its \x escapes are not valid TOML.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlKey quotes a dotted-key segment when it is not a bare key, such as
// "io.containerd.grpc.v1.cri" or a registry host with a port.
func tomlKey(s string) string {
	for _, r := range s {
		bare := r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !bare {
			return tomlString(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
