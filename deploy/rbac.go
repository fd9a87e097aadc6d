// Package deploy holds the manifests users apply next to the plugin, and a
// small evaluator of the RBAC rules in rbac.yaml, so that tests can check the
// plugin's permission checks and the API server's audit log against the very
// file users apply.
package deploy

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// RBACYAML is deploy/rbac.yaml.
//
//go:embed rbac.yaml
var RBACYAML []byte

// Personas of rbac.yaml. Each is a ClusterRole (cluster-wide rules) and a
// Role of the same name in the node pod namespace.
const (
	// Viewer reads the cluster (plan --no-host, status): no pods, no exec,
	// nothing in the node pod namespace.
	Viewer = "crimig-viewer"
	// Planner is node-root: it may create privileged pods and exec into them.
	Planner  = "crimig-planner"
	Operator = "crimig-operator"
)

// RBAC is the parsed rbac.yaml.
type RBAC struct {
	ClusterRoles        []rbacv1.ClusterRole
	Roles               []rbacv1.Role
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	RoleBindings        []rbacv1.RoleBinding
	Namespaces          []corev1.Namespace
}

// LoadRBAC parses the embedded rbac.yaml.
func LoadRBAC() (*RBAC, error) { return ParseRBAC(RBACYAML) }

// ParseRBAC parses a multi-document YAML of Namespaces, (Cluster)Roles and
// (Cluster)RoleBindings; any other kind is an error.
func ParseRBAC(data []byte) (*RBAC, error) {
	r := &RBAC{}
	for i, doc := range splitDocuments(data) {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		var err error
		switch meta.Kind {
		case "":
			continue // comments only
		case "Namespace":
			var o corev1.Namespace
			err = yaml.UnmarshalStrict(doc, &o)
			r.Namespaces = append(r.Namespaces, o)
		case "ClusterRole":
			var o rbacv1.ClusterRole
			err = yaml.UnmarshalStrict(doc, &o)
			r.ClusterRoles = append(r.ClusterRoles, o)
		case "Role":
			var o rbacv1.Role
			err = yaml.UnmarshalStrict(doc, &o)
			r.Roles = append(r.Roles, o)
		case "ClusterRoleBinding":
			var o rbacv1.ClusterRoleBinding
			err = yaml.UnmarshalStrict(doc, &o)
			r.ClusterRoleBindings = append(r.ClusterRoleBindings, o)
		case "RoleBinding":
			var o rbacv1.RoleBinding
			err = yaml.UnmarshalStrict(doc, &o)
			r.RoleBindings = append(r.RoleBindings, o)
		default:
			return nil, fmt.Errorf("document %d: unexpected kind %q", i+1, meta.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("document %d (%s %s): %w", i+1, meta.Kind, meta.Metadata.Name, err)
		}
	}
	return r, nil
}

func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if strings.TrimRight(string(line), " \t\r\n") == "---" {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}

// Request is one API request, as an authorizer sees it. Namespace is empty
// for cluster-scoped resources and for requests across all namespaces.
type Request struct {
	Verb        string
	Group       string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
}

func (q Request) String() string {
	s := q.Verb + " " + q.Resource
	if q.Subresource != "" {
		s += "/" + q.Subresource
	}
	if q.Group != "" {
		s += "." + q.Group
	}
	if q.Namespace != "" {
		s += " in namespace " + q.Namespace
	}
	return s
}

// Grant is one verb on one resource of one rule: the unit the tests count
// as used or unused.
type Grant struct {
	// Kind is ClusterRole or Role; Namespace is the Role's namespace.
	Kind, Role, Namespace string
	// Rule is the rule's index in the role.
	Rule     int
	Verb     string
	Group    string
	Resource string // may hold a subresource: pods/exec
	Names    []string
}

func (g Grant) String() string {
	where := g.Kind + " " + g.Role
	if g.Namespace != "" {
		where += " (namespace " + g.Namespace + ")"
	}
	res := g.Resource
	if g.Group != "" {
		res += "." + g.Group
	}
	return fmt.Sprintf("%s rule %d: %s %s", where, g.Rule+1, g.Verb, res)
}

// Allows reports whether the grant allows q.
func (g Grant) Allows(q Request) bool {
	if g.Kind == "Role" && q.Namespace != g.Namespace {
		return false
	}
	res := q.Resource
	if q.Subresource != "" {
		res += "/" + q.Subresource
	}
	return (g.Verb == q.Verb || g.Verb == rbacv1.VerbAll) &&
		(g.Group == q.Group || g.Group == rbacv1.APIGroupAll) &&
		(g.Resource == res || g.Resource == rbacv1.ResourceAll) &&
		(len(g.Names) == 0 || slices.Contains(g.Names, q.Name))
}

// Grants returns every grant of a persona: its ClusterRole's, then its
// Roles'.
func (r *RBAC) Grants(persona string) []Grant {
	var out []Grant
	add := func(kind, ns string, rules []rbacv1.PolicyRule) {
		for i, rule := range rules {
			for _, v := range rule.Verbs {
				for _, g := range rule.APIGroups {
					for _, res := range rule.Resources {
						out = append(out, Grant{Kind: kind, Role: persona, Namespace: ns, Rule: i,
							Verb: v, Group: g, Resource: res, Names: rule.ResourceNames})
					}
				}
			}
		}
	}
	for _, cr := range r.ClusterRoles {
		if cr.Name == persona {
			add("ClusterRole", "", cr.Rules)
		}
	}
	for _, ro := range r.Roles {
		if ro.Name == persona {
			add("Role", ro.Namespace, ro.Rules)
		}
	}
	return out
}

// Allowed returns the persona's grants that allow q; none means denied.
func (r *RBAC) Allowed(persona string, q Request) []Grant {
	var out []Grant
	for _, g := range r.Grants(persona) {
		if g.Allows(q) {
			out = append(out, g)
		}
	}
	return out
}
