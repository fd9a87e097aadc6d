package controller

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// Annotations a kubelet puts on the mirror pod of a static pod.
const (
	ConfigMirrorAnno = corev1.MirrorPodAnnotationKey // kubernetes.io/config.mirror: the static pod's hash
	ConfigHashAnno   = "kubernetes.io/config.hash"
	ConfigSourceAnno = "kubernetes.io/config.source"
	ConfigSeenAnno   = "kubernetes.io/config.seen"
)

// mirrorRetry is how long a mirror pod that was just created (or failed to
// be) is left alone while the pod informer catches up.
const mirrorRetry = 2 * time.Second

// staticState caches a node's static pod manifests between polls.
type staticState struct {
	dir     string
	stamp   string
	pods    []host.StaticPod
	logged  map[string]string    // manifest -> last decode error logged
	created map[string]time.Time // mirror pod key -> last create attempt
	loaded  bool
	apiHash string    // the kube-apiserver manifest's hash, "" while it has none
	apiSeen time.Time // when the kubelet picked that manifest up
}

// load returns the manifests in dir, decoding them again only when the
// directory listing (names, sizes, modification times) changed.
func (s *staticState) load(h *host.Host, dir, node string) []host.StaticPod {
	stamp := ""
	if dir != "" {
		entries, _ := os.ReadDir(h.P(dir))
		for _, e := range entries {
			if info, err := e.Info(); err == nil {
				stamp += fmt.Sprintf("%s|%d|%d;", e.Name(), info.Size(), info.ModTime().UnixNano())
			}
		}
	}
	if dir != s.dir || stamp != s.stamp {
		s.dir, s.stamp, s.pods = dir, stamp, h.StaticPods(dir, node)
	}
	return s.pods
}

// noteAPIServer records when the kubelet picked up the current
// kube-apiserver manifest: a new or changed one restarts the static pod.
// On the controller's first look, the file's modification time stands in.
func (s *staticState) noteAPIServer(pods []host.StaticPod, kubeletUp bool) {
	if !kubeletUp {
		return // a kubelet that starts reads the manifests anew anyway
	}
	var api *host.StaticPod
	for i := range pods {
		if pods[i].Pod != nil && pods[i].Pod.Name == "kube-apiserver" {
			api = &pods[i]
		}
	}
	switch {
	case api == nil:
		s.apiHash = ""
	case api.Hash == s.apiHash:
	case !s.loaded:
		s.apiHash, s.apiSeen = api.Hash, api.ModTime
	default:
		s.apiHash, s.apiSeen = api.Hash, time.Now()
	}
	s.loaded = true
}

// MirrorPod is the API object a kubelet creates for a static pod: named
// <name>-<node>, the manifest's labels and annotations plus the config
// annotations, owned by the Node, bound to it, and tolerating every
// NoExecute taint (the kubelet adds that toleration to static pods).
func MirrorPod(sp host.StaticPod, node *corev1.Node, seen time.Time) *corev1.Pod {
	src := sp.Pod
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        src.Name + "-" + node.Name,
			Namespace:   src.Namespace,
			Labels:      map[string]string{},
			Annotations: map[string]string{},
		},
		Spec: *src.Spec.DeepCopy(),
	}
	for k, v := range src.Labels {
		p.Labels[k] = v
	}
	for k, v := range src.Annotations {
		p.Annotations[k] = v
	}
	p.Annotations[ConfigHashAnno] = sp.Hash
	p.Annotations[ConfigMirrorAnno] = sp.Hash
	p.Annotations[ConfigSourceAnno] = "file"
	p.Annotations[ConfigSeenAnno] = seen.UTC().Format(time.RFC3339Nano)
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &yes}}
	p.Spec.NodeName = node.Name
	all := corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	has := false
	for _, t := range p.Spec.Tolerations {
		has = has || (t.Key == "" && t.Operator == all.Operator && t.Effect == all.Effect)
	}
	if !has {
		p.Spec.Tolerations = append(p.Spec.Tolerations, all)
	}
	return p
}

// syncStaticPods reads the node's static pods, records whether its
// kube-apiserver runs, and, while the kubelet and its runtime run and the
// API server answers, keeps one mirror pod per manifest, as a kubelet does:
// missing ones are created, and ones whose manifest changed or went away
// are deleted (and then created anew).
func (c *Controller) syncStaticPods(ctx context.Context, name string, h *host.Host, o *Observation, st *nodeState) {
	if st.static.logged == nil {
		st.static.logged, st.static.created = map[string]string{}, map[string]time.Time{}
	}
	dir := h.StaticPodPath()
	pods := st.static.load(h, dir, name)
	st.static.noteAPIServer(pods, o.KubeletUp)
	st.controlPlane = o.Meta.ControlPlane
	st.apiserverUp, st.apiserverWhy = apiServerRuns(h, o, dir, pods, st.static.apiSeen, c.StaticPodStart, time.Now())
	// No static pod path means no running kubelet by now: the observation
	// (taken a moment earlier) is stale, and a stopped kubelet leaves its
	// mirror pods alone rather than finding every manifest gone.
	if !o.Ready() || !c.APIServerUp() || dir == "" {
		return
	}
	want := map[string]host.StaticPod{}
	for _, sp := range pods {
		if sp.Err != nil {
			if st.static.logged[sp.File] != sp.Err.Error() {
				c.logf("node %s: static pod manifest skipped: %v", name, sp.Err)
				st.static.logged[sp.File] = sp.Err.Error()
			}
			continue
		}
		delete(st.static.logged, sp.File)
		want[sp.Pod.Namespace+"/"+sp.Pod.Name+"-"+name] = sp
	}
	have := map[string]bool{}
	for _, p := range c.podsOn(name) {
		if _, mirror := p.Annotations[ConfigMirrorAnno]; !mirror {
			continue
		}
		key := p.Namespace + "/" + p.Name
		have[key] = true
		sp, ok := want[key]
		if p.DeletionTimestamp != nil || ok && p.Annotations[ConfigMirrorAnno] == sp.Hash {
			continue
		}
		why := "its manifest is gone"
		if ok {
			why = "its manifest changed"
		}
		zero := int64(0)
		err := c.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			c.logf("node %s: delete mirror pod %s: %v", name, key, err)
			continue
		}
		c.logf("node %s: deleted mirror pod %s: %s", name, key, why)
	}
	var node *corev1.Node
	for key, sp := range want {
		if have[key] || time.Since(st.static.created[key]) < mirrorRetry {
			continue
		}
		st.static.created[key] = time.Now()
		if node == nil {
			var err error
			if node, err = c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err != nil {
				if !apierrors.IsNotFound(err) {
					c.logf("node %s: mirror pods: %v", name, err)
				}
				return
			}
		}
		mp := MirrorPod(sp, node, time.Now())
		_, err := c.Client.CoreV1().Pods(mp.Namespace).Create(ctx, mp, metav1.CreateOptions{})
		switch {
		case err == nil:
			c.logf("node %s: created mirror pod %s of %s", name, key, sp.File)
		case apierrors.IsAlreadyExists(err):
		default:
			c.logf("node %s: create mirror pod %s: %v", name, key, err)
		}
	}
}
