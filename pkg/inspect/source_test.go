package inspect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	for in, want := range map[string]Source{
		"":                                       {Kind: "pkgs"},
		"pkgs":                                   {Kind: "pkgs"},
		"bundle=/tmp/cri-o.tar.gz":               {Kind: "bundle", File: "/tmp/cri-o.tar.gz"},
		"repo=https://m.example/crio/":           {Kind: "repo", URL: "https://m.example/crio/"},
		"repo=http://m.example/crio/,key=/k.asc": {Kind: "repo", URL: "http://m.example/crio/", KeyFile: "/k.asc"},
		"repo=file:///srv/crio,key=rel/path.asc": {Kind: "repo", URL: "file:///srv/crio", KeyFile: "rel/path.asc"},
	} {
		got, err := ParseSource(in)
		if err != nil || got != want {
			t.Errorf("ParseSource(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseSourceRejects(t *testing.T) {
	for in, want := range map[string]string{
		"repo=https://m.example/x\ngpgcheck=0": "newline or control character",
		"repo=https://m.example/x\rA":          "newline or control character",
		"repo=https://m.example/x y":           "a space",
		"repo=https://m.example/x\x7f":         "control character",
		"repo=ftp://m.example/":                "http(s):// or file://",
		"repo=https://m.example/,key=":         "after key=",
		"bundle=":                              "--source must be",
		"apt":                                  "--source must be",
	} {
		if _, err := ParseSource(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSource(%q) = %v, want an error saying %q", in, err, want)
		}
	}
}

func TestCheckSigned(t *testing.T) {
	for _, c := range []struct {
		source   string
		insecure bool
		ok       bool
	}{
		{"repo=http://m.example/", false, false},
		{"repo=http://m.example/", true, true},
		{"repo=http://m.example/,key=/k.asc", false, true},
		{"repo=https://m.example/", false, true},
		{"repo=file:///srv/crio", false, true},
		{"pkgs", false, true},
	} {
		s, err := ParseSource(c.source)
		if err != nil {
			t.Fatal(err)
		}
		err = s.CheckSigned(c.insecure)
		if (err == nil) != c.ok {
			t.Errorf("%s insecure=%v: %v", c.source, c.insecure, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "key=FILE") || !strings.Contains(err.Error(), "--insecure-repo")) {
			t.Errorf("error does not say what to do: %v", err)
		}
	}
}

func TestReadRepoKey(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "k.asc"), filepath.Join(dir, "k.gpg")
	_ = os.WriteFile(good, []byte(armoredKey+"\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n"), 0o600)
	_ = os.WriteFile(bad, []byte{0x99, 0x01}, 0o600)
	if k, err := ReadRepoKey(good); err != nil || !strings.HasPrefix(k, armoredKey) {
		t.Errorf("ReadRepoKey(good) = %q, %v", k, err)
	}
	for f, want := range map[string]string{bad: "gpg --armor --export", filepath.Join(dir, "none"): "no such file"} {
		if _, err := ReadRepoKey(f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadRepoKey(%s) = %v, want %q", f, err, want)
		}
	}
}
