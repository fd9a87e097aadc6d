package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// --source repo=URL: no control characters, and a plain-http mirror only
// with the operator's key or --insecure-repo.
func TestValidateRepoSource(t *testing.T) {
	key := filepath.Join(t.TempDir(), "mirror.asc")
	if err := os.WriteFile(key, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		source   string
		insecure bool
		want     string // "" means valid
	}{
		{"repo=https://m.example/crio/", false, ""},
		{"repo=http://m.example/crio/,key=" + key, false, ""},
		{"repo=http://m.example/crio/", true, ""},
		{"repo=http://m.example/crio/", false, "--insecure-repo"},
		{"repo=https://m.example/crio/\ngpgcheck=0", false, "control character"},
		{"repo=https://m.example/crio/,key=" + key + ".missing", false, "no such file"},
	} {
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		o := NewPlanOptions(streams)
		o.Source, o.InsecureRepo = c.source, c.insecure
		err := o.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q insecure=%v: %v", c.source, c.insecure, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q insecure=%v: err = %v, want %q", c.source, c.insecure, err, c.want)
		}
	}
}
