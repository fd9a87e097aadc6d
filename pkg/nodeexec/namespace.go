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

// PrepareNamespace makes sure crimig's node pods may run in ns. A missing
// namespace is created with the privileged PodSecurity level. An existing
// namespace is checked, and one enforcing baseline or restricted fails with a
// *NamespacePolicyError before anything is created.
func PrepareNamespace(ctx context.Context, client kubernetes.Interface, ns string) error {
	existing, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return createNamespace(ctx, client, ns)
	case apierrors.IsForbidden(err):
		// Users allowed to create pods but not to read namespaces exist; the
		// pod create itself will tell, and mapAdmissionError explains it.
		return nil
	case err != nil:
		return fmt.Errorf("reading namespace %q: %w", ns, err)
	}
	return checkNamespace(existing)
}

func checkNamespace(ns *corev1.Namespace) error {
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return fmt.Errorf("namespace %q is being deleted: wait until it is gone, or pick another with --pod-namespace", ns.Name)
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
