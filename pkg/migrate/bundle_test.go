package migrate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBundleAlreadyOnTheHostIsNotUploadedAgain(t *testing.T) {
	e, host, events := newTestEngine(t)
	bundle := filepath.Join(t.TempDir(), "cri-o.amd64.v1.29.1.tar.gz")
	if err := os.WriteFile(bundle, []byte(strings.Repeat("bundle", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Options.Source = "bundle=" + bundle
	// An earlier run left its copy on the host.
	host.uploads["/var/lib/crimig/run-0/bundle/cri-o.amd64.v1.29.1.tar.gz"] = strings.Repeat("bundle", 1000)
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	if host.sent >= 6000 {
		t.Errorf("%d bytes streamed: the bundle was uploaded again", host.sent)
	}
	if got := host.uploads["/var/lib/crimig/run-1/bundle/cri-o.amd64.v1.29.1.tar.gz"]; got == "" {
		t.Error("the run's bundle path holds nothing")
	}
	if !hasEvent(*events, "already on the host") {
		t.Error("no event says the bundle was not uploaded again")
	}
}

func hasEvent(events []Event, substr string) bool {
	for _, ev := range events {
		if strings.Contains(ev.Message, substr) {
			return true
		}
	}
	return false
}
