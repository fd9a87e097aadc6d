package plugin

import (
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// stepExec names the event of an exec that fell back to SPDY.
const stepExec = "exec"

// execEvents relays the node executor's transport events. A fallback to
// SPDY (cri-dockerd 0.4 behind an API server that proxies exec over
// websockets) is logged at -v=2 and, once the command has an event sink,
// is an event too, so that -o json shows it.
type execEvents struct {
	mu   sync.Mutex
	sink migrate.Sink
}

func (r *execEvents) setSink(s migrate.Sink) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sink = s
}

func (r *execEvents) on(ev nodeexec.Event) {
	if r == nil || ev.Kind != nodeexec.EventSPDYFallback {
		return
	}
	klog.V(2).InfoS("exec fell back to SPDY", "node", ev.Node, "pod", ev.Pod, "reason", ev.Message)
	r.mu.Lock()
	sink := r.sink
	r.mu.Unlock()
	if sink != nil {
		sink(migrate.Event{Time: time.Now(), Node: ev.Node, Step: stepExec, Phase: migrate.PhaseInfo, Message: ev.Message, Progress: -1})
	}
}
