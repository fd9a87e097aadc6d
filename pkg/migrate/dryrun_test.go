package migrate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestServerDryRunSendsEveryWriteAsDryRun: each kind of write a migration
// makes is sent once, and every one with DryRun=All. The fake clientset
// ignores DryRun, so the writes are refused here after being recorded, as
// an API server that stores nothing would leave the cluster.
func TestServerDryRunSendsEveryWriteAsDryRun(t *testing.T) {
	e, _, events := newTestEngine(t)
	e.Options.SmokeImage = "busybox:1.36"
	client := e.Client.(*fake.Clientset)
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: "u1", Controller: new(true)}
	for _, obj := range []runtime.Object{
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1-a", OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: corev1.PodSpec{NodeName: "node-1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubelet-config"},
			Data: map[string]string{"kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"}},
	} {
		if err := client.Tracker().Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	var writes []string
	client.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		verb := a.GetVerb()
		if verb == "get" || verb == "list" || verb == "watch" {
			return false, nil, nil
		}
		what := verb + " " + a.GetResource().Resource
		if a.GetSubresource() != "" {
			what += "/" + a.GetSubresource()
		}
		writes = append(writes, what)
		if dry := dryRunOf(a); !slices.Equal(dry, []string{metav1.DryRunAll}) {
			t.Errorf("%s sent with DryRun %v", what, dry)
		}
		return true, nil, nil
	})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "crimig-system", Name: "crimig-node-1-abcde"}}
	got, err := e.ServerDryRun(context.Background(), "node-1", pod)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create leases", "patch nodes", "patch nodes", "create pods/eviction", "create pods", "create pods", "patch configmaps"}
	if !slices.Equal(writes, want) {
		t.Errorf("writes %q, want %q", writes, want)
	}
	var reported []string
	for _, w := range got {
		if w.Err != nil {
			t.Errorf("%s (%s): %v", w.Request, w.Why, w.Err)
		}
		reported = append(reported, w.Request)
	}
	for _, want := range []string{"create leases.coordination.k8s.io crimig-system/crimig-node-node-1", "patch nodes/node-1",
		"create pods/eviction shop/web-1-a", "create pods crimig-system/crimig-node-1-abcde", "create pods crimig-system/crimig-smoke-node-1",
		"patch configmaps kube-system/kubelet-config"} {
		if !slices.Contains(reported, want) {
			t.Errorf("no %q in %q", want, reported)
		}
	}
	if len(*events) != 0 {
		t.Errorf("a dry run reports through its result, not as migration events: %+v", *events)
	}
}

// TestServerDryRunReportsRefusals: a write the API server refuses is
// reported with its error, and the others are still sent.
func TestServerDryRunReportsRefusals(t *testing.T) {
	e, _, _ := newTestEngine(t)
	client := e.Client.(*fake.Clientset)
	client.PrependReactor("patch", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "node-1", errors.New("no patch"))
	})
	client.PrependReactor("create", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, nil })
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "crimig-system", Name: "crimig-node-1-abcde"}}
	got, err := e.ServerDryRun(context.Background(), "node-1", pod)
	if err != nil {
		t.Fatal(err)
	}
	var refused []string
	for _, w := range got {
		if w.Err != nil {
			refused = append(refused, w.Why+": "+w.Err.Error())
		}
	}
	if len(refused) != 2 || !strings.Contains(strings.Join(refused, "\n"), `the cordon: nodes "node-1" is forbidden`) || len(got) != 4 {
		t.Errorf("refused %q of %d", refused, len(got))
	}
}

func dryRunOf(a k8stesting.Action) []string {
	switch a := a.(type) {
	case k8stesting.CreateActionImpl:
		if ev, ok := a.GetObject().(*policyv1.Eviction); ok && ev.DeleteOptions != nil {
			return ev.DeleteOptions.DryRun
		}
		return a.GetCreateOptions().DryRun
	case k8stesting.UpdateActionImpl:
		return a.GetUpdateOptions().DryRun
	case k8stesting.PatchActionImpl:
		return a.GetPatchOptions().DryRun
	case k8stesting.DeleteActionImpl:
		return a.GetDeleteOptions().DryRun
	}
	return nil
}
