package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/deploy"
	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
)

// TestRBACViewer binds crimig-viewer from deploy/rbac.yaml to the sandbox
// user of that name: plan --no-host and status work, the real API server
// denies pod creation and exec in crimig-system, and plan with host facts
// stops before anything is created, naming crimig-planner.
func TestRBACViewer(t *testing.T) {
	cs := Clientset(t)
	ctx := context.Background()
	Kubectl(t, "apply", "-f", filepath.Join(RepoRoot(), "deploy", "rbac.yaml"))
	b := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "crimig-viewer-e2e-user"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: deploy.Viewer},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: deploy.Viewer}}}
	_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, b.Name, metav1.DeleteOptions{})
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), b.Name, metav1.DeleteOptions{})
	})
	viewer := UserKubeconfig(deploy.Viewer)
	WaitFor(t, 20*time.Second, func() (bool, error) {
		out, err := TryKubectlAs(t, viewer, "auth", "can-i", "list", "nodes")
		return err == nil && strings.TrimSpace(out) == "yes", err
	})

	for _, q := range [][]string{
		{"create", "pods", "-n", crimigNamespace}, {"create", "pods", "--subresource=exec", "-n", crimigNamespace},
		{"get", "pods", "--subresource=exec", "-n", crimigNamespace},
		{"list", "leases.coordination.k8s.io", "-n", crimigNamespace}, {"patch", "nodes"}, {"create", "pods", "-n", "default"},
	} {
		if out, _ := TryKubectlAs(t, viewer, append([]string{"auth", "can-i"}, q...)...); strings.TrimSpace(out) != "no" {
			t.Errorf("crimig-viewer: can-i %s = %q, want no", strings.Join(q, " "), out)
		}
	}
	if _, stderr, code := RunCrimigAs(t, viewer, "plan", "--no-host"); code != 0 && code != 2 {
		t.Errorf("plan --no-host as crimig-viewer exited %d:\n%s", code, stderr)
	}
	// status works without the Leases, with a warning: every node is listed.
	stdout, stderr, code := RunCrimigAs(t, viewer, "status", "-o", "json")
	var st fleetstatus.Status
	if err := json.Unmarshal([]byte(stdout), &st); code != 0 || err != nil || st.Kind != "NodeStatusList" || len(st.Items) == 0 ||
		!strings.Contains(stderr, "cannot read the crimig Leases") {
		t.Errorf("status as crimig-viewer exited %d (%v), want a NodeStatusList of every node and a warning about the Leases:\n%s\n%s",
			code, err, stdout, stderr)
	}
	_, stderr, code = RunCrimigAs(t, viewer, "plan")
	if code == 0 || !strings.Contains(stderr, "role crimig-planner") || !strings.Contains(stderr, "bind the crimig-planner ClusterRole") {
		t.Errorf("plan with host facts as crimig-viewer exited %d, want a refusal naming crimig-planner:\n%s", code, stderr)
	}
}
