package plugin

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest/fake"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/scheme"
)

// TestNodeNameCompletion runs cobra's __complete, as the shell scripts do,
// for every command that takes node names, against a factory whose API
// server lists three nodes.
func TestNodeNameCompletion(t *testing.T) {
	nodes := &corev1.NodeList{Items: []corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "node-2"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "worker-1"}},
	}}
	commands := map[string]func(cmdutil.Factory, genericiooptions.IOStreams) *cobra.Command{
		"plan": NewCmdPlan, "status": NewCmdStatus, "migrate": NewCmdMigrate, "rollback": NewCmdRollback, "cleanup": NewCmdCleanup,
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"all", []string{""}, []string{"node-1", "node-2", "worker-1"}},
		{"prefix", []string{"no"}, []string{"node-1", "node-2"}},
		{"named nodes left out", []string{"node-1", "worker-1", ""}, []string{"node-2"}},
		{"no match", []string{"x"}, nil},
	} {
		for name, newCmd := range commands {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				tf := cmdtesting.NewTestFactory()
				defer tf.Cleanup()
				codec := scheme.Codecs.LegacyCodec(scheme.Scheme.PrioritizedVersionsAllGroups()...)
				var requests []string
				tf.UnstructuredClient = &fake.RESTClient{
					NegotiatedSerializer: resource.UnstructuredPlusDefaultContentConfig().NegotiatedSerializer,
					Client: fake.CreateHTTPClient(func(req *http.Request) (*http.Response, error) {
						requests = append(requests, req.Method+" "+req.URL.Path)
						return &http.Response{StatusCode: http.StatusOK, Header: cmdtesting.DefaultHeader(), Body: cmdtesting.ObjBody(codec, nodes)}, nil
					}),
				}
				streams, _, _, _ := genericiooptions.NewTestIOStreams()
				root := &cobra.Command{Use: "crimig"}
				root.AddCommand(newCmd(tf, streams))
				var out bytes.Buffer
				root.SetOut(&out)
				root.SetErr(&bytes.Buffer{})
				root.SetArgs(append([]string{cobra.ShellCompRequestCmd, name}, tc.args...))
				if err := root.Execute(); err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(out.String()), "\n")
				got, directive := lines[:len(lines)-1], lines[len(lines)-1]
				if len(got) == 0 {
					got = nil
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("completions (-want +got):\n%s\nrequests: %v", diff, requests)
				}
				if directive != ":4" { // cobra.ShellCompDirectiveNoFileComp
					t.Errorf("directive %q, want :4 (no file completion)", directive)
				}
				if len(requests) != 1 || requests[0] != "GET /nodes" {
					t.Errorf("requests %v, want one GET /nodes", requests)
				}
			})
		}
	}
}
