package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/deploy"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
)

// TestMigrateServerDryRun: migrate --dry-run=server sends migrate's API
// writes with DryRun=All. As the admin, the API server accepts each of them
// and nothing changes: the node is neither cordoned nor annotated, no Lease
// and no crimig pod exist, the workload pod is not evicted. As
// crimig-viewer, who may read but not write, the same command fails on the
// writes the API server refuses. The audit log shows both runs' writes
// reached the API server as dry runs.
func TestMigrateServerDryRun(t *testing.T) {
	start := time.Now().Add(-time.Second)
	cs := Clientset(t)
	ctx := context.Background()
	Kubectl(t, "apply", "-f", filepath.Join(RepoRoot(), "deploy", "rbac.yaml"))
	node := AddSimNode(t, "centos7", "dry")
	ns := NewNamespace(t, "dry")
	rbacWorkloads(t, cs, ns, node.Name)
	podsBefore := podNamesIn(t, ns)

	// --accept all: workloads of other tests in the shared sandbox are
	// blockers for every docker node.
	stdout, stderr, code := RunCrimig(t, "migrate", node.Name, "--dry-run=server", "--accept", "all")
	t.Logf("migrate --dry-run=server as admin, exit %d:\n%s\nstderr:\n%s", code, stdout, stderr)
	if code != 0 {
		t.Fatalf("migrate --dry-run=server exited %d", code)
	}
	for _, want := range []string{
		"accepted  create leases.coordination.k8s.io " + crimigNamespace + "/" + migrate.LeaseName(node.Name),
		"accepted  patch nodes/" + node.Name + " (the " + migrate.AnnotationState + " annotation)",
		"accepted  patch nodes/" + node.Name + " (the cordon)",
		"accepted  create pods/eviction " + ns + "/web-",
		"accepted  create pods " + crimigNamespace + "/crimig-",
		"accepted  create pods " + crimigNamespace + "/crimig-smoke-" + node.Name,
		"no pod was created and no host was touched",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if strings.Contains(stdout, "refused") {
		t.Errorf("the API server refused an admin's write")
	}
	n := GetNode(t, node.Name)
	if n.Spec.Unschedulable || n.Annotations[migrate.AnnotationState] != "" {
		t.Errorf("the dry run changed the node: unschedulable=%v state=%q", n.Spec.Unschedulable, n.Annotations[migrate.AnnotationState])
	}
	if pods := CrimigPodsOn(t, node.Name); len(pods) != 0 {
		t.Errorf("the dry run created node pods: %v", pods)
	}
	if _, err := cs.CoordinationV1().Leases(crimigNamespace).Get(ctx, migrate.LeaseName(node.Name), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run left the node's Lease (err %v)", err)
	}
	if after := podNamesIn(t, ns); !slices.Equal(after, podsBefore) {
		t.Errorf("the workload pods changed from %v to %v", podsBefore, after)
	}

	stdout, stderr, code = RunCrimigAs(t, dryRunViewer(t), "migrate", node.Name, "--dry-run=server", "--accept", "all")
	t.Logf("migrate --dry-run=server as crimig-viewer, exit %d:\n%s\nstderr:\n%s", code, stdout, stderr)
	if code != 1 || !strings.Contains(stderr, "error: the API server refused") || !strings.Contains(stderr, "deploy/rbac.yaml") {
		t.Errorf("as crimig-viewer: exit %d, want 1 with an error naming the refusals and deploy/rbac.yaml", code)
	}
	for _, want := range []string{
		"refused   patch nodes/" + node.Name + " (the cordon): nodes \"" + node.Name + "\" is forbidden: User \"crimig-viewer\" cannot patch",
		"refused   create pods " + crimigNamespace + "/crimig-",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if n := GetNode(t, node.Name); n.Spec.Unschedulable || n.Annotations[migrate.AnnotationState] != "" {
		t.Error("the viewer's dry run changed the node")
	}

	got := dryRunAudit(t, start, node.Name)
	for _, want := range []string{
		"admin patch nodes 200", "admin create leases 201", "admin create pods 201",
		deploy.Viewer + " patch nodes 403", deploy.Viewer + " create pods 403",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("the audit log has no dry-run request %q; it has %q", want, got)
		}
	}
}

// podNamesIn lists the pods of ns, sorted.
func podNamesIn(t *testing.T, ns string) []string {
	t.Helper()
	pods, err := Clientset(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}

// dryRunViewer binds crimig-viewer from deploy/rbac.yaml to the sandbox
// user of that name, with get on nodes besides (the role lists and watches
// them only), until the test ends; it returns that user's kubeconfig.
func dryRunViewer(t *testing.T) string {
	t.Helper()
	cs := Clientset(t)
	ctx := context.Background()
	name := "crimig-e2e-dryrun-viewer"
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get"}}}}
	user := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: deploy.Viewer}}
	bindings := []*rbacv1.ClusterRoleBinding{
		{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}, Subjects: user},
		{ObjectMeta: metav1.ObjectMeta{Name: name + "-role"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: deploy.Viewer}, Subjects: user},
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, b := range bindings {
			_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, b.Name, metav1.DeleteOptions{})
		}
		_ = cs.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
	})
	_ = cs.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range bindings {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, b.Name, metav1.DeleteOptions{})
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	viewer := UserKubeconfig(deploy.Viewer)
	WaitFor(t, 20*time.Second, func() (bool, error) {
		for _, q := range [][]string{{"list", "nodes"}, {"get", "nodes"}} {
			if out, err := TryKubectlAs(t, viewer, append([]string{"auth", "can-i"}, q...)...); err != nil || strings.TrimSpace(out) != "yes" {
				return false, fmt.Errorf("can-i %v: %q %w", q, out, err)
			}
		}
		return true, nil
	})
	return viewer
}

// dryRunAudit lists the dry-run writes (dryRun=All in the URL) about node
// or in crimig's namespace since start, as "user verb resource code", with
// every user but crimig-viewer called admin.
func dryRunAudit(t *testing.T, start time.Time, node string) []string {
	t.Helper()
	f, err := os.Open(AuditLog())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit log line: %v", err)
		}
		if ev.Received.Before(start) || ev.Stage != "ResponseComplete" || ev.ObjectRef == nil || ev.ResponseStatus == nil ||
			!strings.Contains(ev.RequestURI, "dryRun=All") {
			continue
		}
		if o := ev.ObjectRef; o.Name != node && o.Namespace != crimigNamespace {
			continue
		}
		user := ev.User.Username
		if user != deploy.Viewer {
			user = "admin"
		}
		out = append(out, strings.Join([]string{user, ev.Verb, ev.ObjectRef.Resource, strconv.Itoa(ev.ResponseStatus.Code)}, " "))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
