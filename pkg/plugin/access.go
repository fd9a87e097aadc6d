package plugin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/crimig/kubectl-crimig/deploy"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// Need is one permission a command needs. Each list below mirrors the rules
// in deploy/rbac.yaml; access_test.go checks that the right role grants every
// need and that the roles grant nothing no command needs.
type Need struct {
	Verb        string
	Group       string
	Resource    string
	Subresource string
	// PodNamespace: needed in --pod-namespace only (a Role there grants it);
	// otherwise needed in every namespace, or on a cluster-scoped resource
	// (a ClusterRole grants it).
	PodNamespace bool
	// Namespace and Name narrow a need to one namespace and object, as a
	// Role with resourceNames grants it.
	Namespace, Name string
	// Why says which code makes the call; docs/security.md has the same table.
	Why string
}

// Where access docs live, for error messages.
const (
	rbacManifest = "deploy/rbac.yaml"
	securityDoc  = "docs/security.md"
)

var (
	// needsClusterFacts: plan's one paginated list per kind (inspect.CollectFacts).
	needsClusterFacts = []Need{
		{Verb: "list", Resource: "nodes", Why: "cluster facts: runtimes, versions, cordon state, cri-socket annotations"},
		{Verb: "list", Resource: "pods", Why: "cluster facts: workloads mounting docker.sock, drain blockers, capacity"},
		{Verb: "list", Resource: "configmaps", Why: "cluster facts: kubelet-config, kubeadm-config and log agent configuration"},
		{Verb: "list", Group: "apps", Resource: "daemonsets", Why: "cluster facts: workload templates and owners"},
		{Verb: "list", Group: "apps", Resource: "deployments", Why: "cluster facts: workload templates and owners"},
		{Verb: "list", Group: "apps", Resource: "replicasets", Why: "cluster facts: pod owners"},
		{Verb: "list", Group: "apps", Resource: "statefulsets", Why: "cluster facts: workload templates and owners"},
		{Verb: "list", Group: "batch", Resource: "jobs", Why: "cluster facts: pod owners"},
		{Verb: "list", Group: "batch", Resource: "cronjobs", Why: "cluster facts: workload templates"},
		{Verb: "list", Group: "policy", Resource: "poddisruptionbudgets", Why: "cluster facts: PDBs that block a drain"},
	}
	// needsNodePods: the privileged node pods (pkg/nodeexec).
	needsNodePods = []Need{
		{Verb: "get", Resource: "namespaces", PodNamespace: true, Why: "node pods: the namespace's PodSecurity level"},
		{Verb: "list", Resource: "pods", PodNamespace: true, Why: "node pods: leftovers of earlier runs; wait until Running"},
		{Verb: "create", Resource: "pods", PodNamespace: true, Why: "node pods: one per node"},
		{Verb: "get", Resource: "pods", PodNamespace: true, Why: "node pods: re-check a pod before reuse"},
		{Verb: "watch", Resource: "pods", PodNamespace: true, Why: "node pods: wait until Running"},
		{Verb: "delete", Resource: "pods", PodNamespace: true, Why: "node pods: delete on exit and leftovers"},
		{Verb: "create", Resource: "pods", Subresource: "exec", PodNamespace: true, Why: "node pods: exec (SPDY, and the API server's check on websocket exec)"},
		{Verb: "get", Resource: "pods", Subresource: "exec", PodNamespace: true, Why: "node pods: exec over websocket"},
		{Verb: "list", Resource: "nodes", Why: "node pods: leftovers on nodes that are gone"},
		{Verb: "get", Resource: "nodes", Why: "node pods: the node is Ready"},
		{Verb: "watch", Resource: "nodes", Why: "node pods: the node is deleted while its pod starts"},
	}
	// needsStatus: kubectl crimig status (pkg/tui).
	needsStatus = []Need{
		{Verb: "list", Resource: "nodes", Why: "status: every node"},
		{Verb: "watch", Resource: "nodes", Why: "status --watch and the interactive view"},
		{Verb: "list", Group: "coordination.k8s.io", Resource: "leases", PodNamespace: true, Why: "status: lock holders"},
		{Verb: "watch", Group: "coordination.k8s.io", Resource: "leases", PodNamespace: true, Why: "status --watch and the interactive view"},
	}
	// needsLock: the per-node Lease (pkg/migrate/lock.go).
	needsLock = []Need{
		{Verb: "get", Group: "coordination.k8s.io", Resource: "leases", PodNamespace: true, Why: "lock: read the node's Lease"},
		{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", PodNamespace: true, Why: "lock: take the node's Lease"},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", PodNamespace: true, Why: "lock: renew, or take over an expired Lease"},
		{Verb: "delete", Group: "coordination.k8s.io", Resource: "leases", PodNamespace: true, Why: "lock: release"},
	}
	// needsNodeChanges: the Node object (pkg/migrate).
	needsNodeChanges = []Need{
		{Verb: "get", Resource: "nodes", Why: "node state: state, runtime, boot id"},
		{Verb: "watch", Resource: "nodes", Why: "node state: wait for the new runtime and Ready"},
		{Verb: "patch", Resource: "nodes", Why: "node state: cordon, uncordon, crimig.io/state and cri-socket annotations"},
	}
	// needsKubeletConfigMap: migrate carries kubelet settings to kubeadm's
	// kubelet-config ConfigMap (pkg/migrate/configmap.go); the list comes
	// from the cluster facts' configmaps list.
	needsKubeletConfigMap = []Need{
		{Verb: "patch", Resource: "configmaps", Namespace: "kube-system", Name: "kubelet-config", Why: "kubelet-config: carry kubelet settings to kubeadm's ConfigMap"},
	}
	// needsSmoke: the smoke-test pod (pkg/migrate/smoke.go); creating,
	// deleting and exec come with the node pods' rights.
	needsSmoke = []Need{
		{Verb: "get", Resource: "pods", Subresource: "log", PodNamespace: true, Why: "smoke test: the pod's output through kubectl logs"},
	}
	// needsDrain: k8s.io/kubectl/pkg/drain.
	needsDrain = []Need{
		{Verb: "list", Resource: "pods", Why: "drain: the node's pods"},
		{Verb: "get", Resource: "pods", Why: "drain: wait until evicted pods are gone"},
		{Verb: "create", Resource: "pods", Subresource: "eviction", Why: "drain: evict, honouring PodDisruptionBudgets"},
		{Verb: "get", Group: "apps", Resource: "daemonsets", Why: "drain: leave DaemonSet pods in place"},
	}
)

// commandNeeds lists what each command needs; host is false for plan --no-host.
func commandNeeds(command string, host bool) []Need {
	var n []Need
	switch command {
	case "plan":
		n = append(n, needsClusterFacts...)
		if host {
			n = append(n, needsNodePods...)
		}
	case "status":
		// The interactive view reads a run's journal through a node pod.
		n = concatNeeds(needsStatus, needsNodePods)
	case "migrate":
		n = concatNeeds(needsClusterFacts, needsNodePods, needsLock, needsNodeChanges, needsDrain, needsKubeletConfigMap, needsSmoke)
	case "rollback":
		n = concatNeeds(needsNodePods, needsLock, needsNodeChanges, needsDrain)
	case "cleanup":
		n = concatNeeds(needsNodePods, needsLock, needsNodeChanges)
	}
	return n
}

// commandRole names the smallest persona in deploy/rbac.yaml that grants a
// command; host is false for plan --no-host and non-interactive status.
func commandRole(command string, host bool) string {
	switch {
	case (command == "plan" || command == "status") && !host:
		return deploy.Viewer
	case command == "plan" || command == "status":
		return deploy.Planner
	}
	return deploy.Operator
}

// needRole names the smallest persona that grants one need: the viewer
// reads the cluster, the planner (node-root) also runs node pods and reads
// the Leases in their namespace, the operator changes things.
func needRole(n Need) string {
	switch {
	case !n.PodNamespace && n.Namespace == "" && (n.Verb == "list" || (n.Verb == "watch" && n.Resource == "nodes")):
		return deploy.Viewer
	case hasNeed(needsNodePods, n) || hasNeed(needsStatus, n):
		return deploy.Planner
	}
	return deploy.Operator
}

func hasNeed(list []Need, n Need) bool {
	for _, m := range list {
		if m.Verb == n.Verb && m.Group == n.Group && m.Resource == n.Resource && m.Subresource == n.Subresource && m.PodNamespace == n.PodNamespace {
			return true
		}
	}
	return false
}

func concatNeeds(lists ...[]Need) []Need {
	var out []Need
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// AccessError lists the permissions a command lacks. It is returned before
// the command changes anything.
type AccessError struct {
	Command   string
	User      string
	Namespace string
	Missing   []Need
	// Host is set when the command runs node pods.
	Host bool
}

func (e *AccessError) Error() string {
	who := "you"
	if e.User != "" {
		who = fmt.Sprintf("user %q", e.User)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s may not do what 'kubectl crimig %s' needs, so nothing was changed. Missing permissions:\n", who, e.Command)
	for _, line := range groupMissing(e.Missing, e.Namespace) {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	fmt.Fprintf(&b, "Ask a cluster admin to bind the %s ClusterRole and Roles from %s to you (node pod namespace: %s); %s explains every rule.\n",
		commandRole(e.Command, e.Host), rbacManifest, e.Namespace, securityDoc)
	q := e.Missing[0]
	fmt.Fprintf(&b, "Check one with: %s", canICommand(q.Verb, q.Group, q.Resource, q.Subresource, nsFor(q, e.Namespace)))
	return b.String()
}

func nsFor(n Need, podNamespace string) string {
	if n.Namespace != "" {
		return n.Namespace
	}
	if n.PodNamespace {
		return podNamespace
	}
	return ""
}

// nameFor is the object a need is about: the pod namespace itself for
// namespaces, else Name (usually none: every object).
func nameFor(n Need, podNamespace string) string {
	if n.Resource == "namespaces" && n.PodNamespace {
		return podNamespace
	}
	return n.Name
}

// groupMissing prints one line per resource and namespace, verbs joined.
func groupMissing(missing []Need, ns string) []string {
	type key struct{ res, ns string }
	verbs := map[key][]string{}
	whys := map[key][]string{}
	roles := map[key]string{}
	var order []key
	for _, n := range missing {
		res := resourceString(n.Group, n.Resource, n.Subresource)
		if n.Name != "" {
			res += " " + n.Name
		}
		k := key{res, nsFor(n, ns)}
		if _, ok := verbs[k]; !ok {
			order = append(order, k)
		}
		verbs[k] = appendUnique(verbs[k], n.Verb)
		whys[k] = appendUnique(whys[k], n.Why)
		if r := needRole(n); roleRank(r) > roleRank(roles[k]) {
			roles[k] = r
		}
	}
	lines := make([]string, 0, len(order))
	for _, k := range order {
		res, where := k.res, ""
		switch {
		case res == "namespaces" && k.ns != "":
			res, where = "namespace", " "+k.ns
		case k.ns != "":
			where = " in namespace " + k.ns
		}
		lines = append(lines, fmt.Sprintf("%s %s%s (%s; role %s)", strings.Join(verbs[k], ","), res, where, summarizeWhys(whys[k]), roles[k]))
	}
	return lines
}

func roleRank(r string) int {
	switch r {
	case deploy.Viewer:
		return 1
	case deploy.Planner:
		return 2
	case deploy.Operator:
		return 3
	}
	return 0
}

// summarizeWhys keeps a single reason whole, and only the areas ("drain",
// "lock", ...) of several.
func summarizeWhys(whys []string) string {
	if len(whys) == 1 {
		return whys[0]
	}
	var areas []string
	for _, w := range whys {
		area, _, _ := strings.Cut(w, ":")
		areas = appendUnique(areas, area)
	}
	return strings.Join(areas, ", ")
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// resourceString writes a resource as kubectl does: pods/exec, leases.coordination.k8s.io.
func resourceString(group, resource, sub string) string {
	s := resource
	if group != "" {
		s += "." + group
	}
	if sub != "" {
		s += "/" + sub
	}
	return s
}

func canICommand(verb, group, resource, sub, ns string) string {
	res := resource
	if group != "" {
		res += "." + group
	}
	cmd := "kubectl auth can-i " + verb + " " + res
	if sub != "" {
		cmd += " --subresource=" + sub
	}
	if ns != "" {
		cmd += " -n " + ns
	} else if resource != "nodes" && resource != "namespaces" {
		cmd += " --all-namespaces"
	}
	return cmd
}

// checkAccessParallel bounds the concurrent SelfSubjectAccessReviews, and
// checkAccessQPS their rate: about 30 reviews go out at the start of migrate.
const (
	checkAccessParallel = 8
	checkAccessQPS      = 50
)

// CheckAccess asks the API server, with one SelfSubjectAccessReview per
// need, whether the current user may do everything the command needs, and
// returns an *AccessError naming each denied permission. When the reviews
// themselves are refused, it returns nil: the command's own calls then fail
// with errors that explainForbidden makes clear.
func CheckAccess(ctx context.Context, client kubernetes.Interface, command, podNamespace string, needs []Need) error {
	needs = dedupNeeds(needs, podNamespace)
	denied := make([]bool, len(needs))
	errs := make([]error, len(needs))
	sem := make(chan struct{}, checkAccessParallel)
	var wg sync.WaitGroup
	for i, n := range needs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: nsFor(n, podNamespace), Verb: n.Verb, Group: n.Group,
					Resource: n.Resource, Subresource: n.Subresource,
				},
			}}
			review.Spec.ResourceAttributes.Name = nameFor(n, podNamespace)
			res, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			denied[i] = !res.Status.Allowed
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			continue
		}
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			return nil
		}
		return fmt.Errorf("checking permissions for 'kubectl crimig %s': %w", command, err)
	}
	var missing []Need
	for i, n := range needs {
		if denied[i] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &AccessError{Command: command, User: whoAmI(ctx, client), Namespace: podNamespace, Missing: missing,
		Host: hasNeed(needs, needsNodePods[2])}
}

// dedupNeeds drops repeated needs, keeping the first reason.
func dedupNeeds(needs []Need, podNamespace string) []Need {
	seen := map[string]bool{}
	var out []Need
	for _, n := range needs {
		k := strings.Join([]string{n.Verb, n.Group, n.Resource, n.Subresource, nsFor(n, podNamespace), n.Name}, "|")
		if !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out
}

// whoAmI names the current user, best effort, as 'kubectl auth whoami'.
func whoAmI(ctx context.Context, client kubernetes.Interface) string {
	r, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || r == nil {
		return ""
	}
	return r.Status.UserInfo.Username
}

// checkAccess runs CheckAccess for one of the commands with the plan's
// clients and pod namespace.
func (o *PlanOptions) checkAccess(ctx context.Context, command string) error {
	client := o.client
	if o.restConfig != nil {
		// A client of its own, so that the reviews neither wait for nor use
		// up the command's client-side rate limit.
		cfg := rest.CopyConfig(o.restConfig)
		cfg.QPS, cfg.Burst = checkAccessQPS, checkAccessQPS
		if c, err := kubernetes.NewForConfig(cfg); err == nil {
			client = c
		}
	}
	return CheckAccess(ctx, client, command, o.Exec.PodNamespace, commandNeeds(command, !o.NoHost))
}

// buildChecked is plan's Build behind the permission check, plus the
// findings about crimig's own pods (CRIMIG070).
func (o *PlanOptions) buildChecked(ctx context.Context) (*inspect.Plan, error) {
	if err := o.checkAccess(ctx, "plan"); err != nil {
		return nil, err
	}
	plan, err := o.Build(ctx)
	if err != nil {
		return nil, err
	}
	addImageFinding(plan, o.Exec.Image)
	return plan, nil
}

// addImageFinding reports a node pod image that is not pinned by digest.
func addImageFinding(plan *inspect.Plan, image string) {
	if imagePinned(image) {
		return
	}
	plan.AddFinding(inspect.Finding{
		ID: inspect.IDFloatingImage, Severity: inspect.Info, Subject: "image " + image,
		Message: fmt.Sprintf("crimig's privileged node pods use %s, a tag that can move: whoever can push to it runs as root on every node crimig reaches", image),
		Remedy:  "pin it by digest: --image (or CRIMIG_IMAGE) " + imageRepo(image) + "@sha256:<digest>",
	})
}

func imagePinned(image string) bool { return strings.Contains(image, "@sha256:") }

// imageRepo strips the tag: registry:5000/busybox:1.36 → registry:5000/busybox.
func imageRepo(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		image = image[:colon]
	}
	return image
}

// rbacDeniedRE matches the RBAC authorizer's refusal.
var rbacDeniedRE = regexp.MustCompile(`User "([^"]*)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]*)"| at the cluster scope)?`)

// ForbiddenError is an RBAC refusal that happened mid-command, with the
// permission and where to get it.
type ForbiddenError struct {
	User, Verb, Resource, Group, Namespace string
	Err                                    error
}

func (e *ForbiddenError) Error() string {
	res := e.Resource
	if e.Group != "" {
		if base, sub, ok := strings.Cut(e.Resource, "/"); ok {
			res = base + "." + e.Group + "/" + sub
		} else {
			res += "." + e.Group
		}
	}
	where := ""
	if e.Namespace != "" {
		where = " in namespace " + e.Namespace
	}
	base, sub, _ := strings.Cut(e.Resource, "/")
	return fmt.Sprintf("%v\nuser %q may not %s %s%s: the roles in %s grant what crimig needs (%s explains every rule); check with: %s",
		e.Err, e.User, e.Verb, res, where, rbacManifest, securityDoc, canICommand(e.Verb, e.Group, base, sub, e.Namespace))
}

func (e *ForbiddenError) Unwrap() error { return e.Err }

// explainForbidden adds the missing permission and where to get it to an
// RBAC refusal; other errors, PodSecurity and webhook refusals included, are
// returned unchanged.
func explainForbidden(err error) error {
	var status apierrors.APIStatus
	if err == nil || !errors.As(err, &status) || status.Status().Reason != metav1.StatusReasonForbidden {
		return err
	}
	var already *ForbiddenError
	if errors.As(err, &already) {
		return err
	}
	m := rbacDeniedRE.FindStringSubmatch(status.Status().Message)
	if m == nil {
		return err
	}
	return &ForbiddenError{User: m[1], Verb: m[2], Resource: m[3], Group: m[4], Namespace: m[5], Err: err}
}
