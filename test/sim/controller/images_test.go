package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/test/sim/controller"
	"github.com/crimig/kubectl-crimig/test/sim/host"
	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

func TestAirGappedPodsNeedTheirImagesInTheRuntimesStore(t *testing.T) {
	online := pod("online", false)
	online.Spec.Containers[0].Image = "quay.io/app/web:2"
	hs := start(t, "rocky9", online)
	// Online, the image is pulled into docker's store.
	hs.waitPodAnnotated(t, "default", "online", controller.ImageOKAnno)
	if !hs.h.HasImage(host.StoreDocker, "quay.io/app/web:2") {
		t.Errorf("the pull did not land in docker's store: %v", hs.h.Images(host.StoreDocker))
	}

	writeFile(t, hs.root, host.OfflineFile, "")
	stored := pod("stored", false)
	stored.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox:1.36"}}
	stored.Spec.Containers[0].Image = "quay.io/prometheus/node-exporter:v1.8.2"
	missing := pod("missing", false)
	missing.Spec.Containers[0].Image = "quay.io/app/api:3"
	hs.create(t, stored, missing)
	hs.waitPodAnnotated(t, "default", "stored", controller.ImageOKAnno)
	w := hs.waitWaiting(t, "missing")
	if w.Reason != "ErrImagePull" || !strings.Contains(w.Message, `Failed to pull image "quay.io/app/api:3"`) || !strings.Contains(w.Message, "no such host") {
		t.Errorf("waiting state of a pod whose image is nowhere: %+v", w)
	}
	// Loading the image (docker load, as an operator would) lets it start.
	if _, err := hs.h.AddImages(host.StoreDocker, "quay.io/app/api:3"); err != nil {
		t.Fatal(err)
	}
	hs.waitPodAnnotated(t, "default", "missing", controller.ImageOKAnno)

	// Without the pause image no sandbox can be created.
	if _, err := hs.h.RemoveImage(host.StoreDocker, "registry.k8s.io/pause:3.9"); err != nil {
		t.Fatal(err)
	}
	nopause := pod("nopause", false)
	nopause.Spec.Containers[0].Image = "busybox:1.36"
	hs.create(t, nopause)
	w = hs.waitWaiting(t, "nopause")
	if w.Reason != "ContainerCreating" || !strings.Contains(w.Message, `sandbox image "registry.k8s.io/pause:3.9"`) {
		t.Errorf("waiting state without the pause image: %+v", w)
	}
}

func (hs *harness) create(t *testing.T, pods ...*corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		if _, err := hs.cs.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitWaiting waits until the controller marks the pod's container waiting.
func (hs *harness) waitWaiting(t *testing.T, name string) *corev1.ContainerStateWaiting {
	t.Helper()
	var w *corev1.ContainerStateWaiting
	simtest.Eventually(t, 10*time.Second, name+" waiting", func() bool {
		p, err := hs.cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		if p.Annotations[controller.ImageOKAnno] == "true" {
			t.Fatalf("pod %s started", name)
		}
		w = p.Status.ContainerStatuses[0].State.Waiting
		return w != nil
	})
	return w
}
