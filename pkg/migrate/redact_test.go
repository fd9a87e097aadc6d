package migrate

import (
	"context"
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
