package nodeexec

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/kubernetes"
)

// nowFunc is the clock CleanupOrphans uses; tests replace it.
var nowFunc = time.Now

// CleanupOrphans deletes crimig node pods in namespace that a crimig which
// died left behind: pods past their activeDeadlineSeconds, pods that already
// ended, and pods whose node is gone. Pods of a crimig still running are
// younger than their deadline and are kept. It makes one pod list and at
// most one node list. Call it at the start of every crimig command.
// It returns the names of the pods it deleted.
func CleanupOrphans(ctx context.Context, client kubernetes.Interface, namespace string) ([]string, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	sel := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy}).String()
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("listing crimig pods in namespace %q to clean up leftovers: %w", namespace, err)
	}
	if len(pods.Items) == 0 {
		return nil, nil
	}
	nodes, err := nodeNames(ctx, client)
	if err != nil {
		return nil, err
	}
	var deleted []string
	var errs []error
	for i := range pods.Items {
		p := &pods.Items[i]
		if !orphaned(p, nodes, nowFunc()) {
			continue
		}
		err := client.CoreV1().Pods(namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting leftover crimig pod %s/%s: %w", namespace, p.Name, err))
			continue
		}
		deleted = append(deleted, p.Name)
	}
	return deleted, utilerrors.NewAggregate(errs)
}

func nodeNames(ctx context.Context, client kubernetes.Interface) (map[string]bool, error) {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes to find leftover crimig pods: %w", err)
	}
	names := make(map[string]bool, len(list.Items))
	for _, n := range list.Items {
		names[n.Name] = true
	}
	return names, nil
}

func orphaned(p *corev1.Pod, nodes map[string]bool, now time.Time) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return true
	}
	if p.Spec.NodeName != "" && !nodes[p.Spec.NodeName] {
		return true
	}
	deadline := DefaultDeadline
	if p.Spec.ActiveDeadlineSeconds != nil {
		deadline = time.Duration(*p.Spec.ActiveDeadlineSeconds) * time.Second
	}
	return now.After(p.CreationTimestamp.Add(deadline))
}
