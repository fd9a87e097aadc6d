package controller

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// Controller mirrors the simulated hosts under Hosts onto their Nodes.
type Controller struct {
	Client      kubernetes.Interface
	Dynamic     dynamic.Interface // for kwok Exec objects; nil disables exec routing
	Hosts       string
	KubeletPort int32
	Interval    time.Duration // host polling period, default 150ms
	Heartbeat   time.Duration // status refresh without changes, default 20s
	// KubeletWarmup is how long a started kubelet reports NotReady
	// (default 1s; negative: none).
	KubeletWarmup time.Duration
	Log           io.Writer
	// SimExe is the crimig-sim binary, run as the nsenter stub to run a
	// crimig pod's container command; empty: containers only get their
	// (empty) log files.
	SimExe string
	// APIServer is opened while the cluster's API server runs and closed
	// otherwise (see apiserver.go); nil: none.
	APIServer APIServerGate
	// StaticPodStart is how long a static pod takes to run again after its
	// kubelet, runtime or manifest (re)starts (default 1s).
	StaticPodStart time.Duration

	mu    sync.Mutex
	nodes map[string]*nodeState
	pods  listersv1.PodLister
	api   apiState
}

type nodeState struct {
	fingerprint    string
	runtimeVersion string
	pushed         time.Time
	bootID         string
	podKills       int
	seen           bool
	sids           map[int]time.Time // sessions of exec'd processes, remembered for the sweep
	execs          map[string]time.Time
	sandboxLogged  map[string]bool
	gced           time.Time
	static         staticState
	controlPlane   bool
	apiserverUp    bool   // its kube-apiserver static pod runs
	apiserverWhy   string // why not
}

// Run polls the hosts until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.defaults()
	f := informers.NewSharedInformerFactory(c.Client, 0)
	podInf := f.Core().V1().Pods()
	c.pods = podInf.Lister()
	_, _ = podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if p, ok := obj.(*corev1.Pod); ok {
			c.deleteExec(ctx, p)
		}
	}})
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), podInf.Informer().HasSynced) {
		return fmt.Errorf("pod informer did not sync")
	}
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		c.SyncAll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (c *Controller) defaults() {
	if c.Interval == 0 {
		c.Interval = 150 * time.Millisecond
	}
	if c.KubeletWarmup == 0 {
		c.KubeletWarmup = time.Second
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 20 * time.Second
	}
	if c.StaticPodStart == 0 {
		c.StaticPodStart = time.Second
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
	if c.nodes == nil {
		c.nodes = map[string]*nodeState{}
	}
}

func (c *Controller) logf(format string, args ...any) {
	fmt.Fprintf(c.Log, "%s crimig-sim: %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// NodeNames lists the simulated hosts (directories with host.json).
func (c *Controller) NodeNames() []string {
	var out []string
	matches, _ := filepath.Glob(filepath.Join(c.Hosts, "*", "var/lib/sim/host.json"))
	for _, m := range matches {
		out = append(out, filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(m))))))
	}
	sort.Strings(out)
	return out
}

// SyncAll syncs every host once, then opens or closes the API server.
func (c *Controller) SyncAll(ctx context.Context) {
	c.defaults()
	names := c.NodeNames()
	for _, name := range names {
		if err := c.SyncNode(ctx, name); err != nil {
			c.logf("node %s: %v", name, err)
		}
	}
	c.syncAPIServer(names)
}

// SyncNode handles one host: process sweeps, pod deletion, static and
// mirror pods, exec routing and the Node status.
func (c *Controller) SyncNode(ctx context.Context, name string) error {
	c.defaults()
	dir := filepath.Join(c.Hosts, name)
	h := host.New(dir)
	h.AutoRestart()
	o, err := Observe(h, c.KubeletWarmup)
	if err != nil {
		return err
	}
	c.mu.Lock()
	st := c.nodes[name]
	if st == nil {
		st = &nodeState{sids: map[int]time.Time{}, execs: map[string]time.Time{}, sandboxLogged: map[string]bool{}}
		c.nodes[name] = st
	}
	c.mu.Unlock()
	c.rememberExecs(h, st)
	if o.Rebooting {
		if pid := h.Read(host.RebootFile); pid != "" {
			var self int
			_, _ = fmt.Sscan(pid, &self)
			if killed := host.SweepAll(dir, self); len(killed) > 0 {
				c.logf("node %s: reboot killed %d processes", name, len(killed))
			}
		}
	}
	if o.BootID == "" {
		o.BootID = st.bootID // booting: keep publishing the last boot id
	}
	rebooted := st.bootID != "" && o.BootID != st.bootID
	if st.seen && (o.PodKills != st.podKills && o.PodKills != 0 || rebooted) {
		c.podsDied(ctx, name, dir, st)
	}
	st.seen, st.podKills, st.bootID = true, o.PodKills, o.BootID
	if time.Since(st.gced) > time.Second { // scanning /proc is not free
		h.GCExecs(host.ScanProcs("/proc", dir))
		st.gced = time.Now()
	}
	c.syncStaticPods(ctx, name, h, o, st)
	if c.Dynamic != nil {
		if err := c.gatePods(ctx, name, dir, h, o, st); err != nil {
			c.logf("node %s: pods: %v", name, err)
		}
	}
	return c.pushStatus(ctx, name, o, st)
}

// rememberExecs keeps the sessions of exec'd processes for a while: the
// stub that stops the runtime drops the records of the groups it kills.
func (c *Controller) rememberExecs(h *host.Host, st *nodeState) {
	now := time.Now()
	for _, r := range h.ExecRecords() {
		st.sids[r.SID] = now
	}
	for sid, t := range st.sids {
		if now.Sub(t) > time.Minute {
			delete(st.sids, sid)
		}
	}
}

// podsDied kills what is left of the exec'd processes (sparing detached
// sessions) and deletes the node's pods, as a runtime stop does.
func (c *Controller) podsDied(ctx context.Context, name, dir string, st *nodeState) {
	var recs []host.ExecRecord
	for sid := range st.sids {
		recs = append(recs, host.ExecRecord{SID: sid})
	}
	recs = append(recs, host.New(dir).ExecRecords()...)
	killed := host.SweepExecs(dir, recs)
	c.logf("node %s: pod runtime stopped: killed %d exec'd processes, deleting pods", name, len(killed))
	c.deletePods(ctx, name)
	st.execs = map[string]time.Time{}
}

func (c *Controller) podsOn(name string) []*corev1.Pod {
	if c.pods == nil {
		return nil
	}
	all, _ := c.pods.List(everything)
	var out []*corev1.Pod
	for _, p := range all {
		if p.Spec.NodeName == name {
			out = append(out, p)
		}
	}
	return out
}

func (c *Controller) deletePods(ctx context.Context, name string) {
	zero := int64(0)
	pods := c.podsOn(name)
	if c.pods == nil {
		list, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
		if err == nil {
			for i := range list.Items {
				pods = append(pods, &list.Items[i])
			}
		}
	}
	for _, p := range pods {
		err := c.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if err != nil && !apierrors.IsNotFound(err) {
			c.logf("node %s: delete pod %s/%s: %v", name, p.Namespace, p.Name, err)
		}
		c.deleteExec(ctx, p)
	}
}

func (c *Controller) pushStatus(ctx context.Context, name string, o *Observation, st *nodeState) error {
	fp := o.fingerprint(st.runtimeVersion)
	if fp == st.fingerprint && time.Since(st.pushed) < c.Heartbeat {
		return nil
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ApplyStatus(node, o, st.runtimeVersion, c.KubeletPort, metav1.Now())
		_, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil // add-node has not created the Node yet
	}
	if err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	if fp != st.fingerprint {
		c.logf("node %s: ready=%v runtime=%s boot=%s %s", name, o.Ready(), o.runtimeVersion(st.runtimeVersion), o.BootID, o.Reason)
	}
	st.fingerprint, st.pushed, st.runtimeVersion = fp, time.Now(), o.runtimeVersion(st.runtimeVersion)
	return nil
}
