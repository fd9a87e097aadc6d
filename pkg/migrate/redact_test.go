package migrate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// A host error that quotes the mirror's URL must not carry its password
// into the crimig.io/state annotation or the events.
func TestFailedStepRedactsURLUserinfo(t *testing.T) {
	const secret = "S3CRET"
	e, host, events := newTestEngine(t)
	e.Options.Source = "repo=https://bob:" + secret + "@mirror.example/crio/"
	host.failStep = "install.sh"
	host.failStderr = "install: dnf could not install cri-o from https://bob:" + secret + "@mirror.example/crio/\n"
	if err := e.Migrate(context.Background(), "node-1"); err == nil {
		t.Fatal("want the install step to fail")
	}
	n, st := nodeState(t, e)
	if st.Step != inspect.StepKernel || !strings.Contains(st.LastError, "mirror.example") {
		t.Fatalf("state %+v", st)
	}
	for k, v := range n.Annotations {
		if strings.Contains(v, secret) {
			t.Errorf("annotation %s holds the password: %s", k, v)
		}
	}
	for _, ev := range *events {
		if strings.Contains(ev.Message+ev.Err, secret) {
			t.Errorf("event holds the password: %+v", ev)
		}
	}
}

// repo=URL,key=FILE: install.sh gets the bare URL and the operator's key.
func TestInstallGetsTheOperatorsRepoKey(t *testing.T) {
	key := filepath.Join(t.TempDir(), "mirror.asc")
	const armored = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n"
	if err := os.WriteFile(key, []byte(armored), 0o600); err != nil {
		t.Fatal(err)
	}
	e, host, _ := newTestEngine(t)
	e.Options.Source = "repo=http://m.example/crio/,key=" + key
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	env := host.envs["install.sh"]
	if env["CRIMIG_REPO_URL"] != "http://m.example/crio/" || env["CRIMIG_REPO_KEY"] != armored || env["CRIMIG_REPO_INSECURE"] != "" {
		t.Errorf("install.sh env = %v", env)
	}
}

// --insecure-repo reaches install.sh as CRIMIG_REPO_INSECURE=1, the only
// way an unsigned plain-http mirror gets through.
func TestInstallGetsInsecureRepo(t *testing.T) {
	e, host, _ := newTestEngine(t)
	e.Options.Source, e.Options.InsecureRepo = "repo=http://m.example/crio/", true
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	if env := host.envs["install.sh"]; env["CRIMIG_REPO_INSECURE"] != "1" || env["CRIMIG_REPO_KEY"] != "" {
		t.Errorf("install.sh env = %v", env)
	}
}
