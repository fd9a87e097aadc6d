package nodeexec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestForEachNodeBoundsAndAggregates(t *testing.T) {
	nodes := make([]string, 20)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("n%02d", i)
	}
	var running, peak atomic.Int32
	err := ForEachNode(context.Background(), nodes, 3, func(ctx context.Context, node string) error {
		now := running.Add(1)
		defer running.Add(-1)
		for {
			old := peak.Load()
			if now <= old || peak.CompareAndSwap(old, now) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		if node == "n04" || node == "n11" {
			return errors.New("docker is not installed")
		}
		return nil
	})
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency = %d, want 3", p)
	}
	if err == nil || !strings.Contains(err.Error(), "node n04: docker is not installed") ||
		!strings.Contains(err.Error(), "node n11: docker is not installed") {
		t.Errorf("err = %v, want both failures", err)
	}
}

func TestForEachNodeStopsStartingOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	err := ForEachNode(ctx, []string{"a", "b", "c", "d"}, 1, func(ctx context.Context, node string) error {
		started.Add(1)
		cancel()
		return nil
	})
	if started.Load() != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("started %d, err %v", started.Load(), err)
	}
}
