package hostscripts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCopyCerts(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	const (
		from = "/etc/docker/certs.d/harbor.corp.example"
		to   = "/etc/containers/certs.d/harbor.corp.example"
	)
	s.write(from+"/client.key", "key material\n", 0o600)
	s.write(to+"/ca.crt", "an older CA\n", 0o644)
	env := "CRIMIG_COPIES=" + from + "\t" + to + "\n/etc/docker/certs.d/gone.example\t/etc/containers/certs.d/gone.example"
	out := s.mustSh(Get(CopyCerts), env)
	if !strings.Contains(out, "copied "+to+"/ca.crt") || !strings.Contains(out, "copied "+to+"/client.key") || strings.Contains(out, "key material") {
		t.Errorf("output:\n%s", out)
	}
	for _, f := range []string{"ca.crt", "client.key"} {
		want, _ := s.read(from + "/" + f)
		if got, _ := s.read(to + "/" + f); got != want {
			t.Errorf("%s: got %q, want %q", f, got, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(s.Root, to, "client.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("client.key mode: %v %v", fi, err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(s.Root, to, "*.crimig-tmp")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	// A second run changes nothing.
	if out := s.mustSh(Get(CopyCerts), env); strings.Contains(out, "copied") || !strings.Contains(out, "unchanged "+to+"/ca.crt") {
		t.Errorf("second run:\n%s", out)
	}
	// Paths outside the certificate directories are refused before any copy.
	for _, bad := range []string{
		"/etc/docker/certs.d/a\t/etc/crio/crio.conf",
		"/etc/shadow\t/etc/containers/certs.d/x",
		"/etc/docker/certs.d/../../shadow\t/etc/containers/certs.d/x",
		from + "\t" + to + "\n/etc/docker/certs.d/a\t/root/.ssh",
	} {
		s.write(to+"/ca.crt", "an older CA\n", 0o644)
		out, err := s.sh(Get(CopyCerts), "CRIMIG_COPIES="+bad)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("%q: err %v, output %s", bad, err, out)
		}
		if got, _ := s.read(to + "/ca.crt"); got != "an older CA\n" {
			t.Errorf("%q: a file was copied before the refusal", bad)
		}
	}
}
