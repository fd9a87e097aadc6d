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
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if level != "" {
		ns.Labels[LabelPodSecurityEnforce] = level
	}
	return ns
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
		{name: "unlabelled is left to admission", ns: "ops", existing: namespace("ops", "")},
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
