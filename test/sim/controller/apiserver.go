package controller

import (
	"strings"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// APIServerGate is opened while the cluster's API server runs and closed
// while it does not: apiproxy.Proxy, the "kube-apiserver" of the
// control-plane nodes, which users and the product reach the cluster through.
type APIServerGate interface {
	SetServing(on bool) error
}

// apiState is the controller's last verdict on the API server.
type apiState struct {
	known, up bool
	gateErr   string
}

// APIServerUp reports whether the cluster's API server runs (as of the last
// poll): always without control-plane nodes, else while at least one of
// them runs its kube-apiserver static pod (see apiServerRuns). Kubelets
// create mirror pods only while it does.
func (c *Controller) APIServerUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.api.known && c.api.up
}

// apiServerRuns says whether a node's kube-apiserver static pod runs: its
// kubelet is active, the runtime it runs pods on is up, the node is not
// rebooting and can create pod sandboxes, a kube-apiserver manifest is in
// the static pod directory with an image the runtime resolves, and the pod
// has had `start` to come up since the kubelet or the runtime last
// (re)started or the kubelet picked up a new manifest (seen).
func apiServerRuns(h *host.Host, o *Observation, dir string, pods []host.StaticPod, seen time.Time, start time.Duration, now time.Time) (bool, string) {
	k := h.Kubelet()
	switch {
	case o.Rebooting:
		return false, "rebooting"
	case !o.KubeletUp || k == nil:
		return false, "kubelet is not running"
	}
	since := h.StartedAt("kubelet.service")
	for _, u := range k.RuntimeUnit {
		if !h.IsActive(u) {
			return false, "container runtime down (" + u + " " + h.State(u) + ")"
		}
		if t := h.StartedAt(u); t.After(since) {
			since = t
		}
	}
	if o.SandboxError != "" {
		return false, "cannot create pod sandboxes: " + o.SandboxError
	}
	var api *host.StaticPod
	for i := range pods {
		if pods[i].Pod != nil && pods[i].Pod.Name == "kube-apiserver" {
			api = &pods[i]
		}
	}
	if api == nil {
		if dir == "" {
			return false, "the kubelet has no staticPodPath"
		}
		return false, "no kube-apiserver manifest in " + dir
	}
	for _, ctr := range api.Pod.Spec.Containers {
		if ok, why := h.CanPull(ctr.Image); !ok {
			return false, "kube-apiserver: " + why
		}
	}
	if seen.After(since) {
		since = seen
	}
	if now.Sub(since) < start {
		return false, "kube-apiserver static pod starting"
	}
	return true, ""
}

// syncAPIServer decides whether the API server runs from the nodes' last
// polls, logs a change and opens or closes the gate.
func (c *Controller) syncAPIServer(names []string) {
	c.mu.Lock()
	up, why := true, "no control-plane node"
	var down []string
	for _, n := range names {
		st := c.nodes[n]
		if st == nil || !st.controlPlane {
			continue
		}
		if st.apiserverUp {
			up, why, down = true, "kube-apiserver runs on "+n, nil
			break
		}
		up = false
		down = append(down, n+": "+st.apiserverWhy)
	}
	if !up {
		why = strings.Join(down, "; ")
	}
	changed := !c.api.known || up != c.api.up
	c.api.known, c.api.up = true, up
	c.mu.Unlock()
	if changed {
		state := "down"
		if up {
			state = "up"
		}
		gate := ""
		if p, ok := c.APIServer.(interface{ Addr() string }); ok {
			gate = " (" + p.Addr() + map[bool]string{true: " serving", false: " closed, connections cut"}[up] + ")"
		}
		c.logf("API server %s%s: %s", state, gate, why)
	}
	if c.APIServer == nil {
		return
	}
	msg := ""
	if err := c.APIServer.SetServing(up); err != nil {
		msg = err.Error()
	}
	if msg != c.api.gateErr && msg != "" {
		c.logf("%s (retrying)", msg)
	}
	c.api.gateErr = msg
}
