package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// TestMigrateReportKeepsNoToken migrates a node with the admin's bearer
// token given as --token and an evidence bundle: no file of the bundle, and
// no annotation of the Node, holds the token.
func TestMigrateReportKeepsNoToken(t *testing.T) {
	t.Parallel()
	cfg, err := clientcmd.BuildConfigFromFlags("", Kubeconfig())
	if err != nil || cfg.BearerToken == "" {
		t.Fatalf("the admin kubeconfig has no token (%v)", err)
	}
	secret := cfg.BearerToken
	n := AddSimNode(t, "rocky9", "redact")
	dir := filepath.Join(t.TempDir(), "evidence")

	_, stderr, code := RunCrimig(t, migrateArgs(n.Name, "--no-reboot", "--token", secret, "--report", dir)...)
	if code != 0 {
		t.Fatalf("migrate exited %d:\n%s", code, stderr)
	}
	files := 0
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(data), secret) {
			t.Errorf("%s holds the token", p)
		}
		return err
	})
	if err != nil || files < 5 {
		t.Fatalf("walking the bundle: %v (%d files)", err, files)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	if !strings.Contains(string(md), "--token <redacted>") {
		t.Errorf("summary.md does not show that --token was given:\n%s", md)
	}
	node, err := Clientset(t).CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range node.Annotations {
		if strings.Contains(v, secret) {
			t.Errorf("annotation %s holds the token", k)
		}
	}
}
