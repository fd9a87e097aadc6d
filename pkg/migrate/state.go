package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/redact"
)

// AnnotationState holds the migration state on the Node. It never holds
// secrets: only names, times and step names.
const AnnotationState = "crimig.io/state"

// Node-level phases of a migration.
const (
	StateRunning     = "Running"
	StateSwapping    = "Swapping"
	StateSucceeded   = "Succeeded"
	StateFailed      = "Failed"
	StateStopped     = "Stopped" // between two steps, as the user asked
	StateRollingBack = "RollingBack"
	StateRolledBack  = "RolledBack"
)

// State is the JSON document in the crimig.io/state annotation.
type State struct {
	RunID string `json:"runId"`
	From  string `json:"from"`
	To    string `json:"to"`
	Phase string `json:"phase"`
	// Step is the last step that completed; a resumed run starts after it.
	Step string `json:"step,omitempty"`
	// FailedStep is the step that failed, while Phase is Failed.
	FailedStep       string    `json:"failedStep,omitempty"`
	CordonedByCrimig bool      `json:"cordonedByCrimig"`
	OriginalSocket   string    `json:"originalCriSocket,omitempty"`
	Started          time.Time `json:"started"`
	Updated          time.Time `json:"updated"`
	LastError        string    `json:"lastError,omitempty"`
	// Warnings are "<step>: <what to do>" for what went wrong without
	// stopping the run, such as a podman that could not be installed.
	Warnings []string `json:"warnings,omitempty"`
	// CleanedUp is set once docker was removed; rollback is impossible then.
	CleanedUp bool `json:"cleanedUp,omitempty"`
	// SwapBootID is the node's boot id when the swap job started, and
	// SwapReboot whether that job reboots: a run resumed after the reboot
	// must compare with the boot before it, not with the current one.
	SwapBootID string `json:"swapBootId,omitempty"`
	SwapReboot bool   `json:"swapReboot,omitempty"`
	// SwapAttempt counts the swap jobs started after the first one failed
	// and rolled back; each attempt is its own host job (see SwapJob).
	SwapAttempt int `json:"swapAttempt,omitempty"`
	// Verification is what the smoke test proved.
	Verification *Verification `json:"verification,omitempty"`
	// CgroupDriver and KubeletLogMax are the cluster-wide kubelet settings
	// this node brings, taken from its plan at preflight: a run resumed
	// after the swap can no longer compute them from docker, and the
	// kubelet-config ConfigMap may take CgroupDriver only once every node
	// recorded the same one.
	CgroupDriver  string           `json:"cgroupDriver,omitempty"`
	KubeletLogMax *hostconf.LogMax `json:"kubeletLogMax,omitempty"`
}

// SwapJob is the name of the current swap attempt's host job.
func (s *State) SwapJob() string {
	if s.SwapAttempt == 0 {
		return jobSwap
	}
	return fmt.Sprintf("%s-%d", jobSwap, s.SwapAttempt+1)
}

// readAnnotation decodes the JSON annotation key; nil when it is absent or
// empty.
func readAnnotation[T any](annotations map[string]string, key string) (*T, error) {
	raw, ok := annotations[key]
	if !ok || raw == "" {
		return nil, nil
	}
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ReadState decodes the state annotation; nil when there is none.
func ReadState(n *corev1.Node) (*State, error) {
	s, err := readAnnotation[State](n.Annotations, AnnotationState)
	if err != nil {
		return nil, fmt.Errorf("node %s: annotation %s is not valid JSON (%w); remove it with 'kubectl annotate node %s %s-' to start over",
			n.Name, AnnotationState, err, n.Name, AnnotationState)
	}
	return s, nil
}

// saveState writes the annotation with a JSON merge patch.
func (e *Engine) saveState(ctx context.Context, node string, s *State) error {
	patch, err := e.statePatch(s)
	if err != nil {
		return err
	}
	_, err = e.Client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("recording state on node %s: %w", node, err)
	}
	return nil
}

// statePatch is the JSON merge patch that records s on its Node.
func (e *Engine) statePatch(s *State) ([]byte, error) {
	s.Updated = e.now()
	s.LastError = redact.Text(s.LastError)
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{AnnotationState: string(b)}}})
}

// patchAnnotation sets (or, with value nil, removes) one Node annotation.
func (e *Engine) patchAnnotation(ctx context.Context, node, key string, value *string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]*string{key: value}}})
	if err != nil {
		return err
	}
	_, err = e.Client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}
