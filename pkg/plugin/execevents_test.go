package plugin

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// klogAt sends klog to a buffer at verbosity v for the test.
func klogAt(t *testing.T, v string) *bytes.Buffer {
	t.Helper()
	var fs flag.FlagSet
	klog.InitFlags(&fs)
	for k, val := range map[string]string{"v": v, "logtostderr": "false", "skip_headers": "true"} {
		if err := fs.Set(k, val); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	klog.SetOutput(&buf)
	t.Cleanup(func() {
		klog.Flush()
		_ = fs.Set("v", "0")
		_ = fs.Set("logtostderr", "true")
		_ = fs.Set("skip_headers", "false")
	})
	return &buf
}

func TestSPDYFallbackIsLoggedAndAnEvent(t *testing.T) {
	fallback := nodeexec.Event{Node: "node-1", Pod: "crimig-node-1-abcde", Kind: nodeexec.EventSPDYFallback,
		Message: "websocket exec failed, using SPDY for this node from now on: http: server gave HTTP response to HTTPS client"}
	for _, v := range []string{"0", "2"} {
		logs := klogAt(t, v)
		streams, _, out, _ := genericiooptions.NewTestIOStreams()
		flags := NewNodeExecFlags()
		flags.events.setSink(newEventPrinter(streams, "json"))
		flags.Options().OnEvent(fallback)
		flags.Options().OnEvent(nodeexec.Event{Node: "node-1", Kind: nodeexec.EventPodRunning})
		klog.Flush()
		logged := strings.Contains(logs.String(), "exec fell back to SPDY") && strings.Contains(logs.String(), "node-1")
		if logged != (v == "2") {
			t.Errorf("-v=%s: logged %v:\n%s", v, logged, logs)
		}
		if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 1 ||
			!strings.Contains(lines[0], `"step":"exec"`) || !strings.Contains(lines[0], "HTTP response to HTTPS client") {
			t.Errorf("-v=%s: -o json events:\n%s", v, out)
		}
	}
}

func TestRootHasKubectlVerbosityFlag(t *testing.T) {
	out, _, code := run(t, "options")
	if code != 0 || !strings.Contains(out, "-v, --v=") {
		t.Errorf("options lacks -v:\n%s", out)
	}
}
