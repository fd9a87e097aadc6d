package plugin

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest/fake"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// TestDryRunFlag: migrate's --dry-run is kubectl's: none, client or server,
// and --dry-run alone means client. Only a real run needs --yes without a
// terminal, and --report records real runs only.
func TestDryRunFlag(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want      cmdutil.DryRunStrategy
		validated string // Validate's error, "" for none
	}{
		{nil, cmdutil.DryRunNone, "refusing to migrate without confirmation"},
		{[]string{"--dry-run"}, cmdutil.DryRunClient, ""},
		{[]string{"--dry-run=client"}, cmdutil.DryRunClient, ""},
		{[]string{"--dry-run=server"}, cmdutil.DryRunServer, ""},
		{[]string{"--dry-run=none"}, cmdutil.DryRunNone, "refusing to migrate without confirmation"},
		{[]string{"--dry-run=none", "--yes"}, cmdutil.DryRunNone, ""},
		{[]string{"--dry-run", "--report", t.TempDir()}, cmdutil.DryRunClient, "--report records a migration; it cannot be combined with --dry-run"},
		{[]string{"--dry-run=server", "--report", t.TempDir()}, cmdutil.DryRunServer, "--report records a migration; it cannot be combined with --dry-run"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			tf := noRequestFactory(t)
			streams := genericiooptions.NewTestIOStreamsDiscard()
			o := NewMigrateOptions(streams)
			cmd := newCmdMigrate(tf, o)
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := o.Complete(tf, cmd, []string{"node-1"}); err != nil {
				t.Fatal(err)
			}
			if o.DryRun != tc.want {
				t.Errorf("strategy %v, want %v", o.DryRun, tc.want)
			}
			err := o.Validate()
			if tc.validated == "" && err != nil || tc.validated != "" && (err == nil || !strings.Contains(err.Error(), tc.validated)) {
				t.Errorf("Validate: %v, want %q", err, tc.validated)
			}
		})
	}
}

// TestDryRunBadValue: a value kubectl would refuse fails with kubectl's
// message, before any request.
func TestDryRunBadValue(t *testing.T) {
	tf := noRequestFactory(t)
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCmdMigrate(tf, streams)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetArgs([]string{"node-1", "--dry-run=maybe"})
	if code := Execute(cmd, streams); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := "error: Invalid dry-run value (maybe). Must be \"none\", \"server\", or \"client\".\n"
	if got := errOut.String(); got != want || out.Len() != 0 {
		t.Errorf("stderr %q, want %q; stdout %q", got, want, out)
	}
}

// noRequestFactory is a kubectl test factory whose API server fails the
// test on any request.
func noRequestFactory(t *testing.T) *cmdtesting.TestFactory {
	tf := cmdtesting.NewTestFactory()
	t.Cleanup(tf.Cleanup)
	tf.Client = &fake.RESTClient{Client: fake.CreateHTTPClient(func(req *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", req.Method, req.URL)
		return nil, errors.New("no API server in this test")
	})}
	return tf
}
