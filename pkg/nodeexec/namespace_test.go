package nodeexec

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

func namespace(name, level string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelManagedBy: ManagedBy}}}
	if level != "" {
		ns.Labels[LabelPodSecurityEnforce] = level
	}
	return ns
}

func unmarked(ns *corev1.Namespace) *corev1.Namespace {
	delete(ns.Labels, LabelManagedBy)
	return ns
}

func workload(ns string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: ns, Labels: labels}}
}

func TestPrepareNamespace(t *testing.T) {
	tests := []struct {
		name      string
		ns        string
		existing  *corev1.Namespace
		wantLevel string // for a NamespacePolicyError
	}{
		{name: "missing default is created", ns: DefaultNamespace},
		{name: "missing custom is created", ns: "ops"},
		{name: "privileged is fine", ns: "ops", existing: namespace("ops", "privileged")},
		{name: "marked, no level, is left to admission", ns: "ops", existing: namespace("ops", "")},
		{name: "baseline blocks", ns: "ops", existing: namespace("ops", "baseline"), wantLevel: "baseline"},
		{name: "restricted blocks", ns: "apps", existing: namespace("apps", "restricted"), wantLevel: "restricted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []runtime.Object
			if tt.existing != nil {
				objs = append(objs, tt.existing)
			}
			client := fakeCluster(t, nil, append(objs, readyNode("node-1"))...)
			e := newTestExecutor(t, client, localStreams(), Options{Namespace: tt.ns})
			_, err := e.Run(context.Background(), "node-1", "true", nil)
			if tt.wantLevel != "" {
				var pe *NamespacePolicyError
				if !errors.As(err, &pe) || pe.Level != tt.wantLevel {
					t.Fatalf("err = %v, want a NamespacePolicyError for %s", err, tt.wantLevel)
				}
				fix := "kubectl label ns " + tt.ns + " pod-security.kubernetes.io/enforce=privileged --overwrite"
				for _, want := range []string{fix, "pod-security.kubernetes.io/enforce=" + tt.wantLevel, DefaultNamespace} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				if n := podCreates(client); n != 0 {
					t.Errorf("%d pods created despite the blocking namespace", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ns, err := client.CoreV1().Namespaces().Get(context.Background(), tt.ns, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.existing == nil && (ns.Labels[LabelPodSecurityEnforce] != "privileged" || ns.Labels[LabelManagedBy] != ManagedBy) {
				t.Errorf("created namespace labels = %v", ns.Labels)
			}
		})
	}
}

// Only a namespace crimig created, or one an admin marked for it, holds
// crimig's node pods: anyone with pods/exec there is root on every node.
func TestPrepareNamespaceRefusesOthers(t *testing.T) {
	tests := []struct {
		name string
		objs []runtime.Object
		want []string
	}{
		{name: "not marked", objs: []runtime.Object{unmarked(namespace("apps", "privileged"))},
			want: []string{`namespace "apps" is not crimig's`, "kubectl label ns apps app.kubernetes.io/managed-by=crimig", DefaultNamespace}},
		{name: "runs other workloads", objs: []runtime.Object{namespace("apps", "privileged"), workload("apps", map[string]string{"app": "web"})},
			want: []string{`namespace "apps" runs other workloads (pod web-1)`, "kubectl create ns", DefaultNamespace}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fakeCluster(t, nil, append(tt.objs, readyNode("node-1"))...)
			e := newTestExecutor(t, client, localStreams(), Options{Namespace: "apps"})
			_, err := e.Run(context.Background(), "node-1", "true", nil)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if n := podCreates(client); n != 0 {
				t.Errorf("%d pods created in a namespace that is not crimig's", n)
			}
		})
	}
}

// crimig's own pods in the namespace are no reason to refuse it.
func TestPrepareNamespaceAcceptsItsOwnPods(t *testing.T) {
	client := fakeCluster(t, nil, namespace("ops", "privileged"), workload("ops", map[string]string{LabelManagedBy: ManagedBy}), readyNode("node-1"))
	if err := PrepareNamespace(context.Background(), client, "ops"); err != nil {
		t.Fatal(err)
	}
}

func TestAdmissionErrors(t *testing.T) {
	podGR := schema.GroupResource{Resource: "pods"}
	tests := []struct {
		name      string
		err       error
		admission string
		message   string
		hint      string
	}{
		{
			name: "PodSecurity",
			err: apierrors.NewForbidden(podGR, "crimig-n1-abcde", errors.New(`violates PodSecurity "baseline:latest": `+
				`host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), privileged (container "crimig" must not set securityContext.privileged=true)`)),
			admission: `PodSecurity (baseline:latest)`,
			message:   "host namespaces (hostNetwork=true",
			hint:      "pod-security.kubernetes.io/enforce=privileged --overwrite",
		},
		{
			name: "Kyverno webhook",
			err: apierrors.NewBadRequest(`admission webhook "validate.kyverno.svc-fail" denied the request: ` +
				`resource Pod/crimig-system/crimig-n1 was blocked due to the following policies disallow-privileged-containers`),
			admission: `admission webhook "validate.kyverno.svc-fail"`,
			message:   "disallow-privileged-containers",
			hint:      "policy exception",
		},
		{
			name: "Gatekeeper webhook",
			err: apierrors.NewForbidden(podGR, "crimig-n1", errors.New(`admission webhook "validation.gatekeeper.sh" denied the request: `+
				`[psp-host-namespace] Sharing the host namespace is not allowed`)),
			admission: `admission webhook "validation.gatekeeper.sh"`,
			message:   "[psp-host-namespace] Sharing the host namespace is not allowed",
			hint:      "app.kubernetes.io/managed-by=crimig",
		},
		{
			name: "ValidatingAdmissionPolicy",
			err: apierrors.NewForbidden(podGR, "crimig-n1", errors.New(`ValidatingAdmissionPolicy 'no-host-pid' with binding `+
				`'no-host-pid-all' denied request: hostPID is not allowed`)),
			admission: `ValidatingAdmissionPolicy "no-host-pid" (binding "no-host-pid-all")`,
			message:   "hostPID is not allowed",
			hint:      "--pod-namespace",
		},
		{
			name: "RBAC",
			err: apierrors.NewForbidden(podGR, "", errors.New(`User "dev" cannot create resource "pods" in API group "" `+
				`in the namespace "crimig-system"`)),
			admission: "RBAC",
			message:   `User "dev" cannot create`,
			hint:      "pods/exec",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fakeCluster(t, nil, readyNode("node-1"))
			client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tt.err
			})
			e := newTestExecutor(t, client, localStreams(), Options{})
			_, err := e.Run(context.Background(), "node-1", "true", nil)
			var ae *AdmissionError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an AdmissionError", err)
			}
			if ae.Admission != tt.admission || !strings.Contains(ae.Message, tt.message) || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("got admission %q message %q error %q", ae.Admission, ae.Message, err)
			}
			if !errors.Is(err, tt.err) {
				t.Error("the API error is not wrapped")
			}
		})
	}
	if err := mapAdmissionError(errors.New("connection refused"), "ns"); err.Error() != "connection refused" {
		t.Errorf("a non-API error was changed: %v", err)
	}
}
