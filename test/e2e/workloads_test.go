package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WorkloadsNamespace holds everything in test/fixtures/workloads.
const WorkloadsNamespace = "shop"

// workloadsTimeout covers applying the fixtures, scheduling and kwok's pod
// stages; on the sandbox it takes a few seconds.
const workloadsTimeout = 60 * time.Second

// ApplyWorkloads applies test/fixtures/workloads (a Deployment with a PDB,
// DaemonSets, hostPath and emptyDir pods, a bare pod, a CronJob) and waits
// until every pod is Ready. The namespace is deleted when the test ends; the
// next ApplyWorkloads waits for that deletion to finish.
func ApplyWorkloads(t testing.TB) {
	t.Helper()
	cs := Clientset(t)
	waitNamespaceGone(t, WorkloadsNamespace)
	Kubectl(t, "apply", "-f", filepath.Join(RepoRoot(), "test", "fixtures", "workloads"))
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), WorkloadsNamespace, metav1.DeleteOptions{})
	})
	WaitFor(t, workloadsTimeout, func() (bool, error) {
		return workloadsReady(t)
	})
}

// workloadsReady reports whether the web Deployment is fully available and
// every pod in the namespace is Ready.
func workloadsReady(t testing.TB) (bool, error) {
	cs := Clientset(t)
	dep, err := cs.AppsV1().Deployments(WorkloadsNamespace).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	if dep.Status.AvailableReplicas != *dep.Spec.Replicas {
		return false, fmt.Errorf("deployment web: %d/%d available", dep.Status.AvailableReplicas, *dep.Spec.Replicas)
	}
	pods, err := cs.CoreV1().Pods(WorkloadsNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	for i := range pods.Items {
		if !PodReady(&pods.Items[i]) {
			return false, fmt.Errorf("pod %s is not Ready (phase %s)", pods.Items[i].Name, pods.Items[i].Status.Phase)
		}
	}
	return true, nil
}

// PodReady reports whether a pod is running and has the Ready condition.
func PodReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// NodeReady reports whether a node has the Ready condition set to True.
func NodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitNamespaceGone(t testing.TB, name string) {
	t.Helper()
	cs := Clientset(t)
	WaitFor(t, workloadsTimeout, func() (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, fmt.Errorf("namespace %s still exists (err %w)", name, err)
	})
}
