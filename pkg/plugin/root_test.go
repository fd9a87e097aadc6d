package plugin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/spf13/cobra"

	"github.com/crimig/kubectl-crimig/pkg/version"
)

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCmdRoot(streams)
	cmd.SetArgs(args)
	code = Execute(cmd, streams)
	return out.String(), errOut.String(), code
}

func TestRootHelpReadsLikeKubectl(t *testing.T) {
	out, _, code := run(t, "--help")
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{"kubectl crimig version", "Other Commands:", "options"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Other Commands:"); n != 1 {
		t.Errorf("help has %d \"Other Commands:\" headings, want 1:\n%s", n, out)
	}
	// Global kubectl flags are listed by `options`, not on every help page.
	opts, _, _ := run(t, "options")
	for _, flag := range []string{"--kubeconfig", "--context", "--namespace", "--as", "--request-timeout"} {
		if !strings.Contains(opts, flag) {
			t.Errorf("options lacks %s", flag)
		}
	}
}

func TestVersionClientJSON(t *testing.T) {
	out, stderr, code := run(t, "version", "--client", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got VersionOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.Client.Version != version.Version || got.Client.GoVersion == "" || got.Server != nil {
		t.Errorf("unexpected document: %+v", got)
	}
}

// TestVersionTemplates: -o jsonpath and go-template read the document, and
// -o json starts with its apiVersion and kind.
func TestVersionTemplates(t *testing.T) {
	for args, want := range map[string]string{
		"jsonpath={.client.version}":            version.Version,
		"go-template={{.kind}} {{.apiVersion}}": "Version crimig.io/v1alpha1",
	} {
		out, stderr, code := run(t, "version", "--client", "-o", args)
		if code != 0 || out != want {
			t.Errorf("version -o %s: exit %d, %q (stderr %q), want %q", args, code, out, stderr, want)
		}
	}
	out, _, _ := run(t, "version", "--client", "-o", "json")
	if !strings.HasPrefix(out, "{\n    \"apiVersion\": \"crimig.io/v1alpha1\",\n    \"kind\": \"Version\",\n    \"client\"") {
		t.Errorf("version -o json:\n%s", out)
	}
}

func TestVersionReportsServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"gitVersion":"v1.37.2","platform":"linux/amd64"}`))
	}))
	defer srv.Close()

	out, stderr, code := run(t, "version", "-o", "yaml", "--server", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got VersionOutput
	if err := yaml.UnmarshalStrict([]byte(out), &got); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, out)
	}
	if got.Server == nil || got.Server.GitVersion != "v1.37.2" {
		t.Errorf("server version missing: %+v", got)
	}
}

func TestVersionUnreachableServerIsAWarning(t *testing.T) {
	out, stderr, code := run(t, "version", "--server", "http://127.0.0.1:1", "--request-timeout", "2s")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "Plugin Version:") || !strings.Contains(stderr, "warning: could not reach the cluster") {
		t.Errorf("stdout=%q stderr=%q", out, stderr)
	}
}

func TestBadInputGetsKubectlStyleError(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"version", "-o", "xml"}, `error: unable to match a printer suitable for the output format "xml", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,template,templatefile,yaml`},
		{[]string{"version", "-o", "name"}, `error: unable to match a printer suitable for the output format "name"`},
		{[]string{"migrate", "node-1", "-o", "xml", "--server", "https://127.0.0.1:1"}, `error: unable to match a printer suitable for the output format "xml", allowed formats are: go-template,go-template-file,json,jsonpath,`},
		{[]string{"nosuch"}, `error: unknown command "nosuch" for "kubectl crimig"`},
		{[]string{"version", "--bogus"}, "error: unknown flag: --bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := run(t, tt.args...)
			if code != 1 || !strings.HasPrefix(stderr, tt.want) {
				t.Errorf("code=%d stderr=%q, want prefix %q", code, stderr, tt.want)
			}
		})
	}
}

func TestExecuteHonoursExitError(t *testing.T) {
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCmdRoot(streams)
	cmd.RunE = func(*cobra.Command, []string) error {
		return &ExitError{Code: 2, Err: errors.New("2 blockers found")}
	}
	cmd.SetArgs(nil)
	if code := Execute(cmd, streams); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if got := errOut.String(); got != "error: 2 blockers found\n" {
		t.Errorf("stderr %q", got)
	}
}

func TestConfirmationErrorNamesTheCommand(t *testing.T) {
	for cmd, want := range map[string]string{
		"migrate":  "error: refusing to migrate without confirmation",
		"rollback": "error: refusing to roll back without confirmation",
		"cleanup":  "error: refusing to clean up without confirmation",
	} {
		_, stderr, code := run(t, cmd, "node-1", "--server", "https://127.0.0.1:1")
		if code == 0 || !strings.Contains(stderr, want) {
			t.Errorf("%s without --yes and a terminal exited %d:\n%s", cmd, code, stderr)
		}
	}
}
