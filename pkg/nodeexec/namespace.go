package nodeexec

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// LabelPodSecurityEnforce is the PodSecurity admission label on a namespace.
const LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"

// NamespacePolicyError says that a namespace's PodSecurity level forbids
// crimig's privileged node pods. It is returned before anything is created.
type NamespacePolicyError struct {
	Namespace string
	Level     string
}

func (e *NamespacePolicyError) Error() string {
	return fmt.Sprintf("namespace %q does not allow crimig's node pods: its label %s=%s makes PodSecurity reject "+
		"privileged, hostPID and hostNetwork pods; run \"kubectl label ns %s %s=privileged --overwrite\", "+
		"or leave out --pod-namespace to use %s, which crimig labels itself",
		e.Namespace, LabelPodSecurityEnforce, e.Level, e.Namespace, LabelPodSecurityEnforce, DefaultNamespace)
}

// NamespaceNotCrimigsError says that a namespace was neither created by
// crimig nor marked for it by an admin. crimig's pods are root on their
// nodes, so they go only where the admin meant them to.
type NamespaceNotCrimigsError struct {
	Namespace string
}

func (e *NamespaceNotCrimigsError) Error() string {
	return fmt.Sprintf("namespace %q is not crimig's: it lacks the label %s=%s, and crimig's node pods are root on their "+
		"nodes; if it is meant only for crimig, run \"kubectl label ns %s %s=%s\", or leave out --pod-namespace to use %s",
		e.Namespace, LabelManagedBy, ManagedBy, e.Namespace, LabelManagedBy, ManagedBy, DefaultNamespace)
}

// PrepareNamespace makes sure crimig's node pods may run in ns. A missing
// namespace is created with the privileged PodSecurity level. An existing
// namespace must carry crimig's managed-by label and run no other pods; one
// enforcing baseline or restricted fails with a *NamespacePolicyError.
// Every refusal comes before anything is created.
func PrepareNamespace(ctx context.Context, client kubernetes.Interface, ns string) error {
	existing, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return createNamespace(ctx, client, ns)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("cannot tell whether namespace %q is crimig's: %w; ask a cluster admin for get on it "+
			"(the Roles in deploy/rbac.yaml grant it)", ns, err)
	case err != nil:
		return fmt.Errorf("reading namespace %q: %w", ns, err)
	}
	if err := checkNamespace(existing); err != nil {
		return err
	}
	return checkNoWorkloads(ctx, client, ns)
}

// checkNoWorkloads refuses a namespace that runs pods crimig did not make:
// whoever may exec into pods there can also exec into crimig's, which are
// root on their nodes.
func checkNoWorkloads(ctx context.Context, client kubernetes.Interface, ns string) error {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 100})
	if err != nil {
		return fmt.Errorf("listing the pods in namespace %q to check that only crimig uses it: %w", ns, err)
	}
	for _, p := range pods.Items {
		if p.Labels[LabelManagedBy] != ManagedBy {
			return fmt.Errorf("namespace %q runs other workloads (pod %s), and anyone who may exec into them could exec into "+
				"crimig's node pods, which are root on their nodes; give crimig a namespace of its own "+
				"(\"kubectl create ns crimig-ops\" and --pod-namespace crimig-ops, or leave out --pod-namespace to use %s)",
				ns, p.Name, DefaultNamespace)
		}
	}
	return nil
}

func checkNamespace(ns *corev1.Namespace) error {
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return fmt.Errorf("namespace %q is being deleted: wait until it is gone, or pick another with --pod-namespace", ns.Name)
	}
	if ns.Labels[LabelManagedBy] != ManagedBy {
		return &NamespaceNotCrimigsError{Namespace: ns.Name}
	}
	switch level := ns.Labels[LabelPodSecurityEnforce]; level {
	case "baseline", "restricted":
		return &NamespacePolicyError{Namespace: ns.Name, Level: level}
	}
	return nil
}

func createNamespace(ctx context.Context, client kubernetes.Interface, ns string) error {
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns,
		Labels: map[string]string{
			LabelPodSecurityEnforce: "privileged",
			LabelManagedBy:          ManagedBy,
		},
	}}
	_, err := client.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Another crimig created it meanwhile; check what it looks like.
		return PrepareNamespace(ctx, client, ns)
	}
	if err != nil {
		return fmt.Errorf("creating namespace %q for crimig's node pods (create it yourself with the label %s=privileged, "+
			"or pick an existing one with --pod-namespace): %w", ns, LabelPodSecurityEnforce, err)
	}
	return nil
}
