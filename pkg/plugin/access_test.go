package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/crimig/kubectl-crimig/deploy"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

var allCommands = []string{"plan", "status", "migrate", "rollback", "cleanup"}

// commandsOf lists the commands a persona must be able to run: the
// operator runs everything, the planner plan and status.
func commandsOf(persona string) []string {
	if persona == deploy.Planner {
		return []string{"plan", "status"}
	}
	return allCommands
}

func loadRBAC(t *testing.T) *deploy.RBAC {
	t.Helper()
	r, err := deploy.LoadRBAC()
	if err != nil {
		t.Fatalf("deploy/rbac.yaml: %v", err)
	}
	return r
}

func needRequest(n Need, ns string) deploy.Request {
	return deploy.Request{Verb: n.Verb, Group: n.Group, Resource: n.Resource, Subresource: n.Subresource,
		Namespace: nsFor(n, ns), Name: nameFor(n, ns)}
}

// Each command's needs are granted by its role in deploy/rbac.yaml.
func TestRBACCoversEveryCommand(t *testing.T) {
	r := loadRBAC(t)
	for _, persona := range []string{deploy.Planner, deploy.Operator} {
		for _, cmd := range commandsOf(persona) {
			needs := commandNeeds(cmd, true)
			if len(needs) == 0 {
				t.Fatalf("no needs listed for %s", cmd)
			}
			for _, n := range needs {
				if len(r.Allowed(persona, needRequest(n, nodeexec.DefaultNamespace))) == 0 {
					t.Errorf("%s: 'kubectl crimig %s' needs %s (%s), which deploy/rbac.yaml does not grant",
						persona, cmd, needRequest(n, nodeexec.DefaultNamespace), n.Why)
				}
			}
		}
	}
	// The planner must not be able to change anything a migration changes.
	for _, n := range []Need{
		{Verb: "patch", Resource: "nodes"},
		{Verb: "create", Resource: "pods", Subresource: "eviction"},
		{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", PodNamespace: true},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", PodNamespace: true},
		{Verb: "delete", Group: "coordination.k8s.io", Resource: "leases", PodNamespace: true},
		{Verb: "create", Resource: "namespaces"},
		{Verb: "get", Resource: "secrets", PodNamespace: true},
		{Verb: "list", Resource: "secrets"},
		{Verb: "patch", Resource: "configmaps", Namespace: "kube-system", Name: "kubelet-config"},
		{Verb: "patch", Resource: "configmaps", Namespace: "kube-system", Name: "coredns"},
	} {
		if g := r.Allowed(deploy.Planner, needRequest(n, nodeexec.DefaultNamespace)); len(g) > 0 {
			t.Errorf("the planner may %s: %v", needRequest(n, nodeexec.DefaultNamespace), g)
		}
	}
	// Nor the operator anything beyond crimig's own objects.
	for _, q := range []deploy.Request{
		{Verb: "patch", Resource: "configmaps", Namespace: "kube-system", Name: "coredns"},
		{Verb: "get", Resource: "secrets", Namespace: "kube-system"},
		{Verb: "list", Resource: "secrets"},
		{Verb: "create", Resource: "pods", Namespace: "default"},
		{Verb: "delete", Resource: "pods", Namespace: "default"},
		{Verb: "update", Resource: "nodes"},
		{Verb: "delete", Resource: "nodes"},
		{Verb: "create", Resource: "namespaces"},
	} {
		if g := r.Allowed(deploy.Operator, q); len(g) > 0 {
			t.Errorf("the operator may %s: %v", q, g)
		}
	}
	for _, cmd := range allCommands {
		if want := deploy.Planner; (cmd == "plan" || cmd == "status") != (commandRole(cmd, true) == want) {
			t.Errorf("commandRole(%s) = %s", cmd, commandRole(cmd, true))
		}
	}
}

// Every grant in deploy/rbac.yaml is needed by a command of its persona, and
// none is granted twice (a Role rule that the ClusterRole already grants).
func TestRBACGrantsNothingUnneeded(t *testing.T) {
	r := loadRBAC(t)
	for _, persona := range []string{deploy.Planner, deploy.Operator} {
		grants := r.Grants(persona)
		if len(grants) == 0 {
			t.Fatalf("no rules for %s", persona)
		}
		var reqs []deploy.Request
		for _, cmd := range commandsOf(persona) {
			for _, n := range commandNeeds(cmd, true) {
				reqs = append(reqs, needRequest(n, nodeexec.DefaultNamespace))
			}
		}
		for i, g := range grants {
			used := false
			for _, q := range reqs {
				used = used || g.Allows(q)
			}
			if !used {
				t.Errorf("%s grants %s, which no command needs: remove it, or add the need to pkg/plugin/access.go", persona, g)
			}
			if g.Verb == "*" || g.Resource == "*" || g.Group == "*" {
				t.Errorf("%s: wildcard in %s", persona, g)
			}
			for j, h := range grants {
				if i == j || h.Verb != g.Verb || h.Group != g.Group || h.Resource != g.Resource {
					continue
				}
				if h.Kind == "ClusterRole" && g.Kind == "Role" || h.Kind == g.Kind && h.Rule < g.Rule {
					t.Errorf("%s: %s repeats %s", persona, g, h)
				}
			}
		}
	}
}

func TestRBACManifestShape(t *testing.T) {
	r := loadRBAC(t)
	// The namespace users create is one crimig accepts as its own.
	if len(r.Namespaces) != 1 || r.Namespaces[0].Name != nodeexec.DefaultNamespace ||
		r.Namespaces[0].Labels[nodeexec.LabelManagedBy] != nodeexec.ManagedBy ||
		r.Namespaces[0].Labels[nodeexec.LabelPodSecurityEnforce] != "privileged" {
		t.Errorf("namespaces = %+v, want %s labelled %s=%s and %s=privileged", r.Namespaces, nodeexec.DefaultNamespace,
			nodeexec.LabelManagedBy, nodeexec.ManagedBy, nodeexec.LabelPodSecurityEnforce)
	}
	for _, ro := range r.Roles {
		if ro.Namespace != nodeexec.DefaultNamespace && (ro.Name != deploy.Operator || ro.Namespace != "kube-system") {
			t.Errorf("Role %s is in namespace %q, want %s", ro.Name, ro.Namespace, nodeexec.DefaultNamespace)
		}
	}
	bound := map[string]bool{}
	for _, b := range r.ClusterRoleBindings {
		bound["ClusterRole/"+b.RoleRef.Name] = b.RoleRef.Kind == "ClusterRole" && len(b.Subjects) > 0
	}
	for _, b := range r.RoleBindings {
		bound["Role/"+b.Namespace+"/"+b.RoleRef.Name] = b.RoleRef.Kind == "Role" && len(b.Subjects) > 0
	}
	for _, ro := range r.Roles {
		if !bound["Role/"+ro.Namespace+"/"+ro.Name] {
			t.Errorf("Role %s/%s has no example binding", ro.Namespace, ro.Name)
		}
	}
	for _, p := range []string{deploy.Planner, deploy.Operator} {
		for _, k := range []string{"ClusterRole/" + p, "Role/" + nodeexec.DefaultNamespace + "/" + p} {
			if !bound[k] {
				t.Errorf("%s has no example binding", k)
			}
		}
	}
}

// rbacClient is a fake clientset whose SelfSubjectAccessReviews are
// answered by the rules of a persona in deploy/rbac.yaml (none for "nobody").
func rbacClient(t *testing.T, persona string) (*fake.Clientset, *int) {
	r := loadRBAC(t)
	c := fake.NewClientset()
	reviews := new(int)
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		*reviews++
		ssar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		ra := ssar.Spec.ResourceAttributes
		q := deploy.Request{Verb: ra.Verb, Group: ra.Group, Resource: ra.Resource, Subresource: ra.Subresource, Namespace: ra.Namespace, Name: ra.Name}
		out := ssar.DeepCopy()
		out.Status.Allowed = len(r.Allowed(persona, q)) > 0
		return true, out, nil
	})
	c.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{
			UserInfo: authenticationv1.UserInfo{Username: persona}}}, nil
	})
	return c, reviews
}

func TestCheckAccess(t *testing.T) {
	ctx := context.Background()
	ns := nodeexec.DefaultNamespace
	for _, tc := range []struct {
		persona, command string
		host, ok         bool
		missing          []string
	}{
		{persona: deploy.Planner, command: "plan", host: true, ok: true},
		{persona: deploy.Planner, command: "status", host: true, ok: true},
		{persona: deploy.Operator, command: "migrate", host: true, ok: true},
		{persona: deploy.Operator, command: "rollback", host: true, ok: true},
		{persona: deploy.Operator, command: "cleanup", host: true, ok: true},
		{persona: deploy.Planner, command: "migrate", host: true, missing: []string{
			"patch nodes (",
			"get,create,update,delete leases.coordination.k8s.io in namespace crimig-system (lock; role crimig-operator)",
			"get pods (drain: wait until evicted pods are gone; role crimig-operator)",
			"create pods/eviction (drain:",
			"get daemonsets.apps (drain:",
		}},
		{persona: deploy.Planner, command: "rollback", host: true, missing: []string{"patch nodes ("}},
		{persona: "nobody", command: "plan", host: false, missing: []string{
			"list nodes (cluster facts:", "list configmaps (", "list poddisruptionbudgets.policy (",
		}},
		{persona: "nobody", command: "plan", host: true, missing: []string{
			"list,create,get,watch,delete pods in namespace crimig-system (node pods; role crimig-planner)",
			"create,get pods/exec in namespace crimig-system (",
			"get namespace crimig-system (",
		}},
	} {
		t.Run(tc.persona+"/"+tc.command, func(t *testing.T) {
			c, reviews := rbacClient(t, tc.persona)
			err := CheckAccess(ctx, c, tc.command, ns, commandNeeds(tc.command, tc.host))
			if *reviews == 0 {
				t.Fatal("no SelfSubjectAccessReview was made")
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ae *AccessError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *AccessError", err)
			}
			msg := err.Error()
			t.Logf("user sees:\nerror: %s", msg)
			want := append([]string{
				fmt.Sprintf("user %q may not do what 'kubectl crimig %s' needs, so nothing was changed", tc.persona, tc.command),
				"deploy/rbac.yaml", "docs/security.md", "kubectl auth can-i ",
				"bind the " + commandRole(tc.command, tc.host) + " ClusterRole and Roles from deploy/rbac.yaml to you (node pod namespace: crimig-system)",
			}, tc.missing...)
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("the message lacks %q", w)
				}
			}
			if tc.persona == deploy.Planner && strings.Contains(msg, "list nodes") {
				t.Errorf("the planner may list nodes, but the message says it may not")
			}
		})
	}
}

func TestCheckAccessSkipsWhenReviewsAreRefused(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}, "", errors.New("no"))
	})
	if err := CheckAccess(context.Background(), c, "plan", "crimig-system", commandNeeds("plan", true)); err != nil {
		t.Fatalf("err = %v, want nil: the command's own calls report missing rights", err)
	}
}

func TestExplainForbidden(t *testing.T) {
	rbac := apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "node-1",
		errors.New(`User "crimig-planner" cannot patch resource "nodes" in API group "" at the cluster scope`))
	err := explainForbidden(fmt.Errorf("node node-1, step drain: cordoning: %w", rbac))
	var fe *ForbiddenError
	if !errors.As(err, &fe) || !apierrors.IsForbidden(err) {
		t.Fatalf("err = %#v, want a *ForbiddenError wrapping the 403", err)
	}
	for _, w := range []string{"cordoning: nodes \"node-1\" is forbidden", `user "crimig-planner" may not patch nodes:`,
		"deploy/rbac.yaml", "docs/security.md", "kubectl auth can-i patch nodes"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}

	evict := apierrors.NewForbidden(schema.GroupResource{Resource: "pods/eviction"}, "web-1",
		errors.New(`User "u" cannot create resource "pods/eviction" in API group "" in the namespace "shop"`))
	if got := explainForbidden(evict).Error(); !strings.Contains(got, "may not create pods/eviction in namespace shop") ||
		!strings.Contains(got, "kubectl auth can-i create pods --subresource=eviction -n shop") {
		t.Errorf("eviction: %s", got)
	}
	lease := apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "x",
		errors.New(`User "u" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "crimig-system"`))
	if got := explainForbidden(lease).Error(); !strings.Contains(got, "may not update leases.coordination.k8s.io in namespace crimig-system") {
		t.Errorf("lease: %s", got)
	}

	// Not RBAC: PodSecurity, other errors, and the exit code of plan.
	podSecurity := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "p",
		errors.New(`violates PodSecurity "baseline:latest": privileged`))
	if got := explainForbidden(podSecurity); got != podSecurity { //nolint:errorlint // identity: the error must come back unchanged
		t.Errorf("a PodSecurity refusal was changed: %v", got)
	}
	exit := &ExitError{Code: 2, Err: errors.New("2 blocker(s) found")}
	if got := explainForbidden(exit); got != exit { //nolint:errorlint // identity: the error must come back unchanged
		t.Errorf("an ExitError was changed: %v", got)
	}
	if explainForbidden(nil) != nil {
		t.Error("nil became an error")
	}
}

func TestFloatingImageFinding(t *testing.T) {
	for _, tc := range []struct {
		image, repo string
		finding     bool
	}{
		{image: nodeexec.DefaultImage, repo: "docker.io/library/busybox", finding: true},
		{image: "registry.corp:5000/tools/busybox", repo: "registry.corp:5000/tools/busybox", finding: true},
		{image: "busybox@sha256:2919d0172f7524b2d8df9e50066a682669e6d170ac0f6a49676d54358fe970b5", finding: false},
		{image: "registry.corp:5000/busybox:1.36@sha256:2919d0172f7524b2d8df9e50066a682669e6d170ac0f6a49676d54358fe970b5", finding: false},
	} {
		p := &inspect.Plan{Findings: []inspect.Finding{
			{ID: inspect.IDDockerSocket, Severity: inspect.Blocker},
			{ID: inspect.IDKubeletConfigCM404, Severity: inspect.Info},
			{ID: inspect.IDShortImageName, Severity: inspect.Warning},
		}, Summary: inspect.Summary{Blockers: 1, Warnings: 1, Infos: 1}}
		addImageFinding(p, tc.image)
		if !tc.finding {
			if len(p.Findings) != 3 || p.Summary.Infos != 1 {
				t.Errorf("%s is pinned, yet: %+v", tc.image, p.Findings)
			}
			continue
		}
		last := p.Findings[len(p.Findings)-1]
		if len(p.Findings) != 4 || last.ID != inspect.IDFloatingImage || last.Severity != inspect.Info || p.Summary.Infos != 2 {
			t.Fatalf("%s: findings %+v, summary %+v", tc.image, p.Findings, p.Summary)
		}
		if p.Findings[1].ID != inspect.IDShortImageName {
			t.Errorf("order: %+v", p.Findings)
		}
		if !strings.Contains(last.Remedy, "pin it by digest") || !strings.Contains(last.Remedy, tc.repo+"@sha256:") {
			t.Errorf("%s: remedy %q", tc.image, last.Remedy)
		}
	}
}

// viewerNeeds is what crimig-viewer must grant: plan --no-host, and status
// without its Leases (lock holders) and journal pane.
func viewerNeeds() []Need {
	n := commandNeeds("plan", false)
	for _, s := range needsStatus {
		if !s.PodNamespace {
			n = append(n, s)
		}
	}
	return n
}

// crimig-viewer grants plan --no-host and status, and nothing that makes a
// pod, execs, or touches the node pod namespace.
func TestRBACViewer(t *testing.T) {
	r := loadRBAC(t)
	for _, n := range viewerNeeds() {
		if len(r.Allowed(deploy.Viewer, needRequest(n, nodeexec.DefaultNamespace))) == 0 {
			t.Errorf("%s does not grant %+v", deploy.Viewer, n)
		}
		if needRole(n) != deploy.Viewer {
			t.Errorf("needRole(%+v) = %s, want %s", n, needRole(n), deploy.Viewer)
		}
	}
	grants := r.Grants(deploy.Viewer)
	for _, g := range grants {
		if g.Kind != "ClusterRole" || g.Namespace != "" || (g.Verb != "list" && g.Verb != "watch") {
			t.Errorf("%s grants %s: want cluster-wide list and watch only", deploy.Viewer, g)
		}
	}
	for _, n := range append(needsNodePods[:8:8], needsLock...) {
		if n.Verb == "list" {
			continue // plan lists every pod, those in crimig-system too: names, not exec
		}
		if len(r.Allowed(deploy.Viewer, needRequest(n, nodeexec.DefaultNamespace))) > 0 {
			t.Errorf("%s grants %+v", deploy.Viewer, n)
		}
	}
	if commandRole("plan", false) != deploy.Viewer || commandRole("status", false) != deploy.Viewer || commandRole("plan", true) != deploy.Planner {
		t.Error("commandRole does not name the viewer for plan --no-host and status")
	}
}

// A missing permission names the role it belongs to.
func TestAccessErrorNamesEachNeedsRole(t *testing.T) {
	e := &AccessError{Command: "plan", Namespace: "crimig-system", Host: true, Missing: []Need{needsClusterFacts[0], needsNodePods[2]}}
	msg := e.Error()
	for _, want := range []string{"list nodes (cluster facts: runtimes, versions, cordon state, cri-socket annotations; role crimig-viewer)",
		"create pods in namespace crimig-system (node pods: one per node; role crimig-planner)", "bind the crimig-planner ClusterRole"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}
