package hostscripts

import (
	"strings"
	"testing"
)

// detach.sh hands the job its environment through single_quote: the value
// the job sees must be the value given, byte for byte.
func TestDetachSingleQuoteIsByteExact(t *testing.T) {
	src := Get(Detach)
	start := strings.Index(src, "single_quote() {")
	end := strings.Index(src[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("detach.sh has no single_quote function")
	}
	fn := src[start : start+end+3]
	values := []string{"plain", "", "trailing newline\n", "two trailing newlines\n\n", "\n", "it's \"quoted\" $HOME `x`",
		"  spaces around  ", "'", "''\n'\n", "x\\n\ttab\r\n"}
	for name, sh := range shells(t) {
		t.Run(name, func(t *testing.T) {
			for _, v := range values {
				// Quote, evaluate the result as detach's env file does, and print the value back with a guard.
				script := fn + `eval "got=$(single_quote "$VALUE")"; printf '%s|' "$got"`
				out, err := withEnv(sh("-c", script), "VALUE="+v).Output()
				if err != nil {
					t.Fatalf("%q: %v", v, err)
				}
				if string(out) != v+"|" {
					t.Errorf("single_quote(%q) came back as %q", v, strings.TrimSuffix(string(out), "|"))
				}
			}
		})
	}
}
