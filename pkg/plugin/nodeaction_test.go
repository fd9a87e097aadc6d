package plugin

import (
	"errors"
	"net/http"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest/fake"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// TestNodeActionValidate runs rollback and cleanup with flag values their
// Validate refuses: each fails before any request, with a kubectl-style
// message that says what to do.
func TestNodeActionValidate(t *testing.T) {
	type newCmd = func(cmdutil.Factory, genericiooptions.IOStreams) *cobra.Command
	for _, tc := range []struct {
		name string
		cmd  newCmd
		args []string
		want string
	}{
		{"rollback without a node", NewCmdRollback, []string{"--yes"},
			"error: name the node to roll back: kubectl crimig rollback NODE (see 'kubectl crimig status')\n"},
		{"rollback -o xml", NewCmdRollback, []string{"node-1", "--yes", "-o", "xml"},
			"error: unable to match a printer suitable for the output format \"xml\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,template,templatefile,yaml\n"},
		{"rollback short swap timeout", NewCmdRollback, []string{"node-1", "--yes", "--swap-timeout", "30s"},
			"error: --swap-timeout must be at least 1m, the time a node needs to restart docker and the kubelet; got 30s\n"},
		{"rollback empty image", NewCmdRollback, []string{"node-1", "--yes", "--image", " "},
			"error: --image must not be empty; use an image with nsenter, such as docker.io/library/busybox:1.36\n"},
		{"rollback without --yes or terminal", NewCmdRollback, []string{"node-1"},
			"error: refusing to roll back without confirmation: stdin is not a terminal; pass --yes\n"},
		{"cleanup without a node", NewCmdCleanup, nil,
			"error: name the node to clean up: kubectl crimig cleanup NODE (see 'kubectl crimig status')\n"},
		{"cleanup -o wide", NewCmdCleanup, []string{"node-1", "--yes", "-o", "wide"},
			"error: unable to match a printer suitable for the output format \"wide\", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,template,templatefile,yaml\n"},
		{"cleanup parallel 0", NewCmdCleanup, []string{"node-1", "--yes", "--parallel", "0"},
			"error: --parallel must be at least 1, got 0\n"},
		{"cleanup without --yes or terminal", NewCmdCleanup, []string{"node-1", "--keep-data"},
			"error: refusing to clean up without confirmation: stdin is not a terminal; review 'kubectl crimig status' and pass --yes\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tf := cmdtesting.NewTestFactory()
			defer tf.Cleanup()
			// Validate makes no request: any one fails the test.
			tf.Client = &fake.RESTClient{Client: fake.CreateHTTPClient(func(req *http.Request) (*http.Response, error) {
				t.Errorf("unexpected request %s %s", req.Method, req.URL)
				return nil, errors.New("no API server in this test")
			})}
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			cmd := tc.cmd(tf, streams)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			cmd.SetArgs(tc.args)
			if code := Execute(cmd, streams); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if got := errOut.String(); got != tc.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q", out)
			}
		})
	}
}

// TestNodeActionDefaults: rollback drains as migrate does, and both
// commands start without --yes.
func TestNodeActionDefaults(t *testing.T) {
	streams := genericiooptions.NewTestIOStreamsDiscard()
	r := NewRollbackOptions(streams)
	if !r.Drain.IgnoreDaemonSets || r.Drain.Timeout != NewMigrateOptions(streams).Drain.Timeout || r.SwapTimeout != NewMigrateOptions(streams).SwapTimeout {
		t.Errorf("rollback defaults %+v, swap timeout %s: want migrate's drain and swap timeout", r.Drain, r.SwapTimeout)
	}
	if c := NewCleanupOptions(streams); c.Yes || r.Yes || c.Exec.PodNamespace != r.Exec.PodNamespace {
		t.Errorf("cleanup %+v / rollback %+v", c.nodeActionOptions, r.nodeActionOptions)
	}
}
