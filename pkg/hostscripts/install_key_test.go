package hostscripts

import (
	"strings"
	"testing"
)

const testKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBGoperator\n-----END PGP PUBLIC KEY BLOCK-----"

// The operator's key signs the mirror, on yum/dnf and on apt.
func TestInstallFromAnHTTPMirrorWithTheOperatorsKey(t *testing.T) {
	for _, c := range []struct{ fixture, url, keyFile, repoFile, want string }{
		{"rocky9", "http://mirror.corp.example/addons:/cri-o:/stable:/v1.29/rpm", "/etc/pki/rpm-gpg/crimig-cri-o.asc",
			"/etc/yum.repos.d/crimig-cri-o.repo", "gpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/crimig-cri-o.asc\n"},
		{"ubuntu22", "http://mirror.corp.example/cri-o/v1.33/deb", "/etc/apt/keyrings/crimig-cri-o.asc",
			"/etc/apt/sources.list.d/crimig-cri-o.list", "deb [signed-by=/etc/apt/keyrings/crimig-cri-o.asc] http://mirror.corp.example/cri-o/v1.33/deb/ /\n"},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			s := newSimHost(t, c.fixture)
			if c.fixture == "ubuntu22" {
				// A key left from an earlier run is replaced by the operator's.
				s.write(c.keyFile, "-----BEGIN PGP PUBLIC KEY BLOCK-----\nold\n", 0o644)
			}
			r, out, err := s.install("CRIMIG_SOURCE=repo", "CRIMIG_REPO_URL="+c.url, "CRIMIG_REPO_KEY="+testKey,
				"CRIMIG_TARGET_VERSION=1.29", "CRIMIG_PODMAN=0")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if key, _ := s.read(c.keyFile); key != testKey+"\n" {
				t.Errorf("%s = %q, want the operator's key", c.keyFile, key)
			}
			if repo, _ := s.read(c.repoFile); !strings.Contains(repo, c.want) {
				t.Errorf("%s lacks %q:\n%s", c.repoFile, c.want, repo)
			}
			if !strings.Contains(strings.Join(r.Files, " "), c.keyFile) {
				t.Errorf("files %v lack the key", r.Files)
			}
		})
	}
}

// Without a key, an http mirror is refused before any file is written, and
// a URL with a newline never reaches a repository file.
func TestInstallRefusesAnUnsignedHTTPMirrorAndBadURLs(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"http://mirror.corp.example/addons:/cri-o:/stable:/v1.29/rpm", "plain http and no signing key was given"},
		{"https://mirror.corp.example/x\ngpgcheck=0", "holds a space, newline or control character"},
		{"https://mirror.corp.example/x\tgpgcheck=0", "holds a space, newline or control character"},
	} {
		t.Run(c.want, func(t *testing.T) {
			s := newSimHost(t, "rocky9")
			_, out, err := s.install("CRIMIG_SOURCE=repo", "CRIMIG_REPO_URL="+c.url, "CRIMIG_TARGET_VERSION=1.29")
			if err == nil || !strings.Contains(out, c.want) {
				t.Errorf("%q: err=%v, output lacks %q:\n%s", c.url, err, c.want, out)
			}
			if _, ok := s.read("/etc/yum.repos.d/crimig-cri-o.repo"); ok {
				t.Errorf("%q: a repository file was written", c.url)
			}
		})
	}
}

// Said explicitly, an unsigned mirror is accepted.
func TestInstallAcceptsAnUnsignedMirrorWhenTold(t *testing.T) {
	s := newSimHost(t, "rocky9")
	if _, out, err := s.install("CRIMIG_SOURCE=repo", "CRIMIG_REPO_URL=http://mirror.corp.example/addons:/cri-o:/stable:/v1.29/rpm",
		"CRIMIG_REPO_INSECURE=1", "CRIMIG_TARGET_VERSION=1.29", "CRIMIG_PODMAN=0"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if repo, _ := s.read("/etc/yum.repos.d/crimig-cri-o.repo"); !strings.Contains(repo, "gpgcheck=0\n") {
		t.Errorf("repo file:\n%s", repo)
	}
}
