package nodeexec

import (
	"context"
	"fmt"
	"strings"
	"sync"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// DefaultParallel is the default bound on nodes worked on at once
// (--parallel). Reading host facts is a few seconds per node, mostly waiting
// for the pod to start; at 10 at a time 200 nodes took twenty rounds of it,
// at 50 they take four (make bench-hostfacts).
const DefaultParallel = 50

// ForEachNode calls fn for every node, at most parallel at a time (a
// non-positive parallel means DefaultParallel). It keeps going when one node
// fails and returns every failure, each prefixed with its node, as one
// aggregate. Nodes not yet started when ctx ends are reported in one error.
func ForEachNode(ctx context.Context, nodes []string, parallel int, fn func(ctx context.Context, node string) error) error {
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	errs := make([]error, len(nodes))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var notStarted []string
	for i, node := range nodes {
		if ctx.Err() == nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			notStarted = append(notStarted, node)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, node); err != nil {
				errs[i] = fmt.Errorf("node %s: %w", node, err)
			}
		}()
	}
	wg.Wait()
	if len(notStarted) > 0 {
		errs = append(errs, fmt.Errorf("nodes %s: not started: %w", strings.Join(notStarted, ", "), context.Cause(ctx)))
	}
	return utilerrors.NewAggregate(errs)
}

// ForEachNode is ForEachNode bounded by Options.Parallel.
func (e *Executor) ForEachNode(ctx context.Context, nodes []string, fn func(ctx context.Context, node string) error) error {
	return ForEachNode(ctx, nodes, e.opts.Parallel, fn)
}
