package inspect

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Source is --source, parsed: pkgs, repo=URL[,key=FILE] or bundle=FILE.
type Source struct {
	Kind string // pkgs, repo or bundle
	URL  string // repo: the mirror's base URL
	// KeyFile is the operator's copy of the mirror's ASCII-armored signing
	// key (repo=URL,key=FILE): the host never takes the key from the mirror.
	KeyFile string
	File    string // bundle: the release tarball
}

// ParseSource reads --source without touching the file system.
func ParseSource(s string) (Source, error) {
	kind, value, hasValue := strings.Cut(s, "=")
	switch {
	case s == "" || s == "pkgs":
		return Source{Kind: "pkgs"}, nil
	case kind == "repo" && hasValue:
		return parseRepo(value)
	case kind == "bundle" && hasValue && value != "":
		return Source{Kind: "bundle", File: value}, nil
	}
	return Source{}, fmt.Errorf("--source must be pkgs, repo=URL[,key=FILE] or bundle=FILE, got %q", s)
}

func parseRepo(value string) (Source, error) {
	for _, c := range []byte(value) {
		if c <= ' ' || c == 0x7f {
			return Source{}, fmt.Errorf("--source repo=URL holds a space, newline or control character (%q): "+
				"give the mirror's plain URL, percent-encoding what needs it", value)
		}
	}
	url, key, hasKey := strings.Cut(value, ",key=")
	if hasKey && key == "" {
		return Source{}, fmt.Errorf("--source repo=URL,key=FILE needs the path of the mirror's signing key after key=")
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "file://") {
		return Source{}, fmt.Errorf("--source repo=URL needs an http(s):// or file:// URL of your package mirror, got %q", url)
	}
	return Source{Kind: "repo", URL: url, KeyFile: key}, nil
}

// CheckSigned refuses a plain-http mirror without the operator's key: the
// host would fetch the key from the same unauthenticated mirror, so the
// signature check would protect nothing. insecure is --insecure-repo.
func (s Source) CheckSigned(insecure bool) error {
	if s.Kind != "repo" || s.KeyFile != "" || insecure || !strings.HasPrefix(s.URL, "http://") {
		return nil
	}
	return fmt.Errorf("--source repo=%s is plain http, and a signing key fetched from it would prove nothing; "+
		"give the mirror's public key with --source repo=URL,key=FILE (gpg --armor --export KEYID > FILE), "+
		"serve the mirror over https, or accept an unsigned mirror with --insecure-repo", s.URL)
}

// armoredKey is how an ASCII-armored OpenPGP public key starts; yum and apt
// (in a .asc keyring) both read that form.
const armoredKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----"

// ReadRepoKey reads the operator's signing key for the mirror.
func ReadRepoKey(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--source repo=URL,key=%s: %w; give the path of the mirror's public signing key", file, err)
	}
	if !bytes.Contains(data, []byte(armoredKey)) {
		return "", fmt.Errorf("--source repo=URL,key=%s is not an ASCII-armored public key; export it with "+
			"\"gpg --armor --export KEYID > %s\"", file, file)
	}
	return string(data), nil
}
