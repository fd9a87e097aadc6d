package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/crimig/kubectl-crimig/deploy"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// rbacUsers maps the sandbox's token users to the personas of deploy/rbac.yaml.
var rbacUsers = map[string]string{"crimig-planner": deploy.Planner, "crimig-operator": deploy.Operator}

// rbacUnusedOK lists the grants the audit log cannot show, with the reason.
// Each is keyed as persona|Kind|namespace|verb|resource.
var rbacUnusedOK = map[string]string{
	deploy.Planner + "|Role|crimig-system|create|pods/exec": "the API server checks create on pods/exec inside the websocket exec " +
		"handler (AuthorizePodWebsocketUpgradeCreatePermission, on since 1.35), and SPDY exec, which crimig falls back to " +
		"when websockets fail, is a create; the audit log records only the websocket request's get. " +
		"The subtest \"exec needs get and create\" shows that get alone is refused",
	deploy.Operator + "|Role|crimig-system|create|pods/exec": "as for the planner: checked inside the websocket exec handler",
	deploy.Planner + "|Role|crimig-system|get|pods": "re-checks a node pod before reuse: a second journal read in status's " +
		"interactive view (needs a terminal), or a retry after a refused or broken exec; plan makes one exec per node",
	deploy.Operator + "|Role|kube-system|patch|configmaps": "migrate patches kube-system/kubelet-config only when a kubeadm " +
		"cluster has it; the sandbox has none, and adding one would change the plans other tests check",
}

// TestRBACRoles applies deploy/rbac.yaml, binds the planner and operator
// personas to the sandbox users of those names, runs every command as
// each of them and as nobody, and then checks the API server's audit log:
// every call the personas made is allowed by their rules, and every rule
// was used.
func TestRBACRoles(t *testing.T) {
	start := time.Now().Add(-time.Second)
	cs := Clientset(t)
	rbac, err := deploy.LoadRBAC()
	if err != nil {
		t.Fatal(err)
	}
	Kubectl(t, "apply", "-f", filepath.Join(RepoRoot(), "deploy", "rbac.yaml"))
	rbacBindUsers(t, cs, rbac)

	node := AddSimNode(t, "centos7", "rbac")
	ns := NewNamespace(t, "rbac")
	rbacWorkloads(t, cs, ns, node.Name)
	planner, operator, nobody := UserKubeconfig("crimig-planner"), UserKubeconfig("crimig-operator"), UserKubeconfig("nobody")

	ok := t.Run("planner", func(t *testing.T) {
		leftover := rbacLeftoverPod(t, cs)
		began := time.Now()
		stdout, stderr, code := RunCrimigAs(t, planner, "plan", node.Name, "-o", "json")
		t.Logf("plan as crimig-planner, exit %d in %s:\n%s", code, time.Since(began).Round(time.Millisecond), stderr)
		if code != 0 && code != 2 {
			t.Fatalf("plan as crimig-planner exited %d\nstderr:\n%s", code, stderr)
		}
		var p inspect.Plan
		if err := json.Unmarshal([]byte(stdout), &p); err != nil {
			t.Fatalf("plan -o json: %v\n%s", err, stdout)
		}
		if np := NodePlanOf(t, &p, node.Name); !np.Eligible || len(np.Files) == 0 {
			t.Errorf("the planner's plan has no host facts for %s: eligible=%v files=%d\nstderr:\n%s", node.Name, np.Eligible, len(np.Files), stderr)
		}
		if !rbacHasFinding(p.Findings, inspect.IDFloatingImage) {
			t.Errorf("plan with the default image %s does not report %s", nodeexec.DefaultImage, inspect.IDFloatingImage)
		}
		WaitFor(t, 30*time.Second, func() (bool, error) {
			_, err := cs.CoreV1().Pods(crimigNamespace).Get(context.Background(), leftover, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, fmt.Errorf("the leftover pod %s is still there (%w)", leftover, err)
		})
		if pods := CrimigPodsOn(t, node.Name); len(pods) != 0 {
			t.Errorf("plan left node pods behind: %v", pods)
		}

		stdout, stderr, code = RunCrimigAs(t, planner, "status", "-o", "json")
		if code != 0 || !strings.Contains(stdout, node.Name) {
			t.Errorf("status -o json as crimig-planner exited %d without node %s\nstdout:\n%s\nstderr:\n%s", code, node.Name, stdout, stderr)
		}
		if strings.Contains(stderr, "warning") {
			t.Errorf("status as crimig-planner warns: %s", stderr)
		}
		rbacWatchBriefly(t, planner, node.Name)

		// Refused up front, with nothing changed.
		for _, cmd := range []string{"migrate", "rollback"} {
			_, stderr, code := RunCrimigAs(t, planner, cmd, node.Name, "--yes")
			t.Logf("%s as crimig-planner, exit %d:\n%s", cmd, code, stderr)
			rbacWantRefusal(t, stderr, code, "crimig-planner", cmd, "patch nodes", "create pods/eviction", "leases.coordination.k8s.io in namespace crimig-system")
			n := GetNode(t, node.Name)
			if n.Spec.Unschedulable || n.Annotations[migrate.AnnotationState] != "" {
				t.Errorf("%s as crimig-planner changed the node: unschedulable=%v state=%q", cmd, n.Spec.Unschedulable, n.Annotations[migrate.AnnotationState])
			}
			if pods := CrimigPodsOn(t, node.Name); len(pods) != 0 {
				t.Errorf("%s as crimig-planner created node pods: %v", cmd, pods)
			}
			if _, err := cs.CoordinationV1().Leases(crimigNamespace).Get(context.Background(), migrate.LeaseName(node.Name), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s as crimig-planner: the node's Lease exists (err %v)", cmd, err)
			}
		}
	})

	t.Run("nobody", func(t *testing.T) {
		for _, args := range [][]string{
			{"plan"}, {"plan", "--no-host"}, {"migrate", node.Name, "--yes"}, {"rollback", node.Name, "--yes"},
		} {
			_, stderr, code := RunCrimigAs(t, nobody, args...)
			t.Logf("%s as nobody, exit %d:\n%s", strings.Join(args, " "), code, stderr)
			rbacWantRefusal(t, stderr, code, "nobody", args[0])
		}
		for _, args := range [][]string{{"status", "-o", "json"}, {"status"}, {"cleanup", node.Name, "--yes"}} {
			_, stderr, code := RunCrimigAs(t, nobody, args...)
			t.Logf("%s as nobody, exit %d:\n%s", strings.Join(args, " "), code, stderr)
			if code == 0 || !strings.Contains(stderr, `user "nobody" may not `) ||
				!strings.Contains(stderr, "deploy/rbac.yaml") || !strings.Contains(stderr, "docs/security.md") {
				t.Errorf("%s as nobody: exit %d, and the error does not name the missing permission and deploy/rbac.yaml", args[0], code)
			}
		}
		stdout, stderr, code := RunCrimigAs(t, nobody, "version")
		t.Logf("version as nobody, exit %d:\n%s%s", code, stdout, stderr)
		if code != 0 || !strings.Contains(stdout, "Plugin Version:") {
			t.Errorf("version as nobody: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		// /version is public (system:public-info-viewer); without it, a warning.
		if !strings.Contains(stdout, "Server Version:") && !strings.Contains(stderr, "warning:") {
			t.Errorf("version as nobody shows neither the server version nor a warning")
		}
		n := GetNode(t, node.Name)
		if n.Spec.Unschedulable || n.Annotations[migrate.AnnotationState] != "" {
			t.Errorf("nobody changed the node")
		}
	})

	t.Run("exec needs get and create", func(t *testing.T) {
		rbacExecVerbs(t, cs, node.Name)
	})

	if !ok {
		t.Fatal("the planner's part failed; the operator's needs a node nobody touched")
	}
	t.Run("operator", func(t *testing.T) {
		// An expired Lease of a run that died: migrate takes it over (update).
		rbacExpiredLease(t, cs, node.Name)
		// --force: the drain otherwise refuses crimig's own node pod, which
		// has no controller (kubectl's unreplicated filter runs before
		// crimig's filter that skips its pods). --accept all: workloads of
		// other tests in the shared sandbox (a CronJob with DOCKER_HOST, a
		// pod mounting docker.sock) are blockers for every docker node.
		began := time.Now()
		_, stderr, code := RunCrimigAs(t, operator, "migrate", node.Name, "--yes", "--force", "--accept", "all")
		t.Logf("migrate as crimig-operator, exit %d in %s", code, time.Since(began).Round(time.Millisecond))
		if code != 0 {
			t.Fatalf("migrate as crimig-operator exited %d\nstderr:\n%s", code, stderr)
		}
		WaitNodeOn(t, node.Name, "cri-o://", time.Minute)
		if st := NodeState(t, node.Name); st == nil || st.Phase != migrate.StateSucceeded {
			t.Errorf("state after migrate: %+v", st)
		}
		if GetNode(t, node.Name).Spec.Unschedulable {
			t.Error("the node is still cordoned after migrate")
		}
		stdout, stderr, code := RunCrimigAs(t, operator, "status", "-o", "json")
		if code != 0 || !strings.Contains(stdout, node.Name) {
			t.Errorf("status -o json as crimig-operator exited %d\nstderr:\n%s", code, stderr)
		}
		rbacWatchBriefly(t, operator, node.Name)

		_, stderr, code = RunCrimigAs(t, operator, "rollback", node.Name, "--yes", "--force")
		if code != 0 {
			t.Fatalf("rollback as crimig-operator exited %d\nstderr:\n%s", code, stderr)
		}
		WaitNodeOn(t, node.Name, "docker://", time.Minute)
		if st := NodeState(t, node.Name); st == nil || st.Phase != migrate.StateRolledBack {
			t.Errorf("state after rollback: %+v", st)
		}
	})

	t.Logf("all commands ran in %s", time.Since(start).Round(time.Second))
	t.Run("audit", func(t *testing.T) {
		rbacCheckAudit(t, rbac, start)
	})
}

// rbacBindUsers binds each persona to the sandbox user of the same name,
// with copies of the example bindings of deploy/rbac.yaml whose subject is
// that user, and removes them when the test ends.
func rbacBindUsers(t *testing.T, cs kubernetes.Interface, r *deploy.RBAC) {
	t.Helper()
	ctx := context.Background()
	user := func(role string) []rbacv1.Subject {
		return []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: role}}
	}
	for _, b := range r.ClusterRoleBindings {
		o := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: b.Name + "-e2e-user"}, RoleRef: b.RoleRef, Subjects: user(b.RoleRef.Name)}
		_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, o.Name, metav1.DeleteOptions{})
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), o.Name, metav1.DeleteOptions{})
		})
	}
	for _, b := range r.RoleBindings {
		o := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: b.Name + "-e2e-user", Namespace: b.Namespace}, RoleRef: b.RoleRef, Subjects: user(b.RoleRef.Name)}
		_ = cs.RbacV1().RoleBindings(o.Namespace).Delete(ctx, o.Name, metav1.DeleteOptions{})
		if _, err := cs.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cs.RbacV1().RoleBindings(o.Namespace).Delete(context.Background(), o.Name, metav1.DeleteOptions{})
		})
	}
	// RBAC reads bindings from an informer: wait until both users can act.
	WaitFor(t, 20*time.Second, func() (bool, error) {
		for kubeconfig, q := range map[string][]string{
			UserKubeconfig("crimig-planner"):  {"auth", "can-i", "get", "pods", "--subresource=exec", "-n", crimigNamespace},
			UserKubeconfig("crimig-operator"): {"auth", "can-i", "update", "leases.coordination.k8s.io", "-n", crimigNamespace},
		} {
			if out, err := TryKubectlAs(t, kubeconfig, q...); err != nil || strings.TrimSpace(out) != "yes" {
				return false, fmt.Errorf("%v: %q %w", q, out, err)
			}
		}
		return true, nil
	})
}

// rbacWorkloads puts a Deployment pod (evicted by the drain) and a
// DaemonSet pod (left in place, after a get of its DaemonSet) on node.
func rbacWorkloads(t *testing.T, cs kubernetes.Interface, ns, node string) {
	t.Helper()
	ctx := context.Background()
	sel := map[string]string{"kubernetes.io/hostname": node}
	spec := func(app string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{
				NodeSelector: sel, Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
				Containers: []corev1.Container{{Name: app, Image: "registry.k8s.io/pause:3.10"}},
			},
		}
	}
	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: appsv1.DeploymentSpec{
		Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: spec("web")}}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns}, Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}, Template: spec("agent")}}
	if _, err := cs.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 60*time.Second, func() (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if err != nil {
			return false, err
		}
		ready := 0
		for i := range pods.Items {
			if PodReady(&pods.Items[i]) {
				ready++
			}
		}
		if ready != 2 {
			return false, fmt.Errorf("%d/2 workload pods Ready on %s", ready, node)
		}
		return true, nil
	})
}

// rbacLeftoverPod leaves a crimig node pod on a node that is gone, as a
// crimig that died would; the next crimig command deletes it.
func rbacLeftoverPod(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	gone := uniqueName("rbac-gone")
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "crimig-" + gone, Namespace: crimigNamespace,
			Labels: map[string]string{nodeexec.LabelManagedBy: nodeexec.ManagedBy, nodeexec.LabelNode: gone}},
		Spec: corev1.PodSpec{NodeName: gone, AutomountServiceAccountToken: new(bool),
			Containers: []corev1.Container{{Name: nodeexec.ContainerName, Image: nodeexec.DefaultImage}}},
	}
	if _, err := cs.CoreV1().Pods(crimigNamespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Pods(crimigNamespace).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	})
	return p.Name
}

// rbacExpiredLease writes the node's Lease as a run that died ten minutes ago left it.
func rbacExpiredLease(t *testing.T, cs kubernetes.Interface, node string) {
	t.Helper()
	holder, dur := "e2e-dead-run", int32(60)
	then := metav1.NewMicroTime(time.Now().Add(-10 * time.Minute))
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: migrate.LeaseName(node), Namespace: crimigNamespace},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, AcquireTime: &then, RenewTime: &then},
	}
	if _, err := cs.CoordinationV1().Leases(crimigNamespace).Create(context.Background(), l, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// rbacExecVerbs shows why the roles grant both get and create on
// pods/exec: with get alone, the API server refuses the websocket exec (it
// checks create too) and the SPDY fallback (a create); with both, exec works.
// It binds a test-only Role to the user nobody and removes it afterwards.
func rbacExecVerbs(t *testing.T, cs kubernetes.Interface, node string) {
	ctx := context.Background()
	name := uniqueName("rbac-exec")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: crimigNamespace,
			Labels: map[string]string{nodeexec.LabelManagedBy: nodeexec.ManagedBy, nodeexec.LabelNode: node}},
		Spec: corev1.PodSpec{NodeName: node, AutomountServiceAccountToken: new(bool),
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers:  []corev1.Container{{Name: nodeexec.ContainerName, Image: nodeexec.DefaultImage, Command: []string{"sleep", "300"}}}},
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: crimigNamespace}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get"}},
	}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: crimigNamespace},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "nobody"}}}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cs.CoreV1().Pods(crimigNamespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		_ = cs.RbacV1().RoleBindings(crimigNamespace).Delete(ctx, name, metav1.DeleteOptions{})
		_ = cs.RbacV1().Roles(crimigNamespace).Delete(ctx, name, metav1.DeleteOptions{})
	})
	if _, err := cs.CoreV1().Pods(crimigNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().Roles(crimigNamespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(crimigNamespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 60*time.Second, func() (bool, error) {
		p, err := cs.CoreV1().Pods(crimigNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil || !PodReady(p) {
			return false, fmt.Errorf("pod %s not Ready yet (%w)", name, err)
		}
		return true, nil
	})
	nobody := UserKubeconfig("nobody")
	execArgs := []string{"-n", crimigNamespace, "exec", name, "--", "echo", "exec-ok"}
	WaitFor(t, 20*time.Second, func() (bool, error) {
		_, err := TryKubectlAs(t, nobody, execArgs...)
		if err == nil || !strings.Contains(err.Error(), `cannot create resource "pods/exec"`) {
			return false, fmt.Errorf("exec with get alone: %w", err)
		}
		return true, nil
	})
	role.Rules[1].Verbs = []string{"get", "create"}
	if _, err := cs.RbacV1().Roles(crimigNamespace).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 20*time.Second, func() (bool, error) {
		out, err := TryKubectlAs(t, nobody, execArgs...)
		if err != nil || strings.TrimSpace(out) != "exec-ok" {
			return false, fmt.Errorf("exec with get and create: %q %w", out, err)
		}
		return true, nil
	})
}

// rbacWatchBriefly runs status --watch for a few seconds and interrupts it,
// as a user would with Ctrl-C.
func rbacWatchBriefly(t *testing.T, kubeconfig, node string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(CrimigBinary(t), "status", "--watch", node)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("status --watch ended by itself: %v\nstderr:\n%s", err, errOut.String())
	case <-time.After(4 * time.Second):
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		t.Logf("status --watch ended: %v", err)
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		err := <-done
		t.Logf("status --watch killed: %v", err)
		t.Errorf("status --watch did not stop on SIGINT")
	}
	if !strings.Contains(out.String(), node) || strings.Contains(errOut.String(), "forbidden") {
		t.Errorf("status --watch as %s:\nstdout:\n%s\nstderr:\n%s", filepath.Base(kubeconfig), out.String(), errOut.String())
	}
}

// rbacWantRefusal checks the up-front refusal: a non-zero exit and a
// message naming the user, the command, the missing permissions and where
// to get them.
func rbacWantRefusal(t *testing.T, stderr string, code int, user, command string, missing ...string) {
	t.Helper()
	if code == 0 {
		t.Errorf("%s as %s succeeded", command, user)
	}
	want := append([]string{
		fmt.Sprintf("error: user %q may not do what 'kubectl crimig %s' needs, so nothing was changed", user, command),
		"deploy/rbac.yaml", "docs/security.md", "kubectl auth can-i",
	}, missing...)
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s as %s: the error lacks %q", command, user, w)
		}
	}
}

func rbacHasFinding(fs []inspect.Finding, id string) bool {
	for _, f := range fs {
		if f.ID == id {
			return true
		}
	}
	return false
}

// auditEvent is the part of an audit.k8s.io/v1 Event the test reads.
type auditEvent struct {
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Received    time.Time         `json:"requestReceivedTimestamp"`
	Annotations map[string]string `json:"annotations"`
}

// rbacDefaultAllowed are calls every authenticated user may make through
// the default ClusterRole system:basic-user: the permission check itself.
var rbacDefaultAllowed = map[string]bool{
	"create selfsubjectaccessreviews.authorization.k8s.io": true,
	"create selfsubjectreviews.authentication.k8s.io":      true,
}

// rbacCheckAudit reads the audit log since start and checks the personas'
// calls against deploy/rbac.yaml, both ways.
func rbacCheckAudit(t *testing.T, r *deploy.RBAC, start time.Time) {
	f, err := os.Open(AuditLog())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type call struct{ user, verb, group, resource, sub, ns string }
	calls := map[call]int{}
	used := map[string]bool{}
	nonResource := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit log line: %v", err)
		}
		persona, ok := rbacUsers[ev.User.Username]
		if !ok || ev.Received.Before(start) || ev.Stage == "ResponseStarted" {
			continue
		}
		if ev.ResponseStatus != nil && ev.ResponseStatus.Code == 403 {
			t.Errorf("%s was refused: %s %s", ev.User.Username, ev.Verb, ev.RequestURI)
		}
		if ev.ObjectRef == nil {
			nonResource[ev.Verb+" "+strings.SplitN(ev.RequestURI, "?", 2)[0]]++
			continue
		}
		o := ev.ObjectRef
		q := deploy.Request{Verb: ev.Verb, Group: o.APIGroup, Resource: o.Resource, Subresource: o.Subresource, Namespace: o.Namespace, Name: o.Name}
		c := call{ev.User.Username, ev.Verb, o.APIGroup, o.Resource, o.Subresource, o.Namespace}
		calls[c]++
		if rbacDefaultAllowed[ev.Verb+" "+o.Resource+"."+o.APIGroup] {
			continue
		}
		grants := r.Allowed(persona, q)
		if len(grants) == 0 {
			t.Errorf("%s made %s, which %s in deploy/rbac.yaml does not allow (%s)", ev.User.Username, q, persona, ev.RequestURI)
		}
		for _, g := range grants {
			used[grantKey(persona, g)] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	keys := make([]call, 0, len(calls))
	for c := range calls {
		keys = append(keys, c)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, c := range keys {
		t.Logf("audit: %-16s %-6s %s%s%s%s ×%d", c.user, c.verb, c.resource, prefixed("/", c.sub), prefixed(".", c.group), prefixed(" in ", c.ns), calls[c])
	}
	for u, n := range nonResource {
		t.Logf("audit: non-resource %s ×%d (discovery, allowed to every user by system:discovery)", u, n)
	}
	for _, user := range []string{"crimig-planner", "crimig-operator"} {
		persona := rbacUsers[user]
		seen := false
		for c := range calls {
			seen = seen || c.user == user
		}
		if !seen {
			t.Fatalf("the audit log %s has no call by %s since %s", AuditLog(), user, start.Format(time.RFC3339))
		}
		for _, g := range r.Grants(persona) {
			k := grantKey(persona, g)
			reason, excused := rbacUnusedOK[k]
			switch {
			case !used[k] && !excused:
				t.Errorf("%s grants %s, but crimig never used it: remove it, or trigger the code path in this test", persona, g)
			case !used[k]:
				t.Logf("unused, as expected: %s: %s", g, reason)
			case excused:
				t.Logf("listed as unused but used: %s; drop it from rbacUnusedOK", g)
			}
		}
	}
}

func grantKey(persona string, g deploy.Grant) string {
	return strings.Join([]string{persona, g.Kind, g.Namespace, g.Verb, g.Resource}, "|")
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
