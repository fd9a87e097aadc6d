package nodeexec

import (
	"context"
	"fmt"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

// Facts runs facts.sh on node and decodes what it reports.
func (e *Executor) Facts(ctx context.Context, node string) (*hostscripts.HostFacts, error) {
	res, err := e.Run(ctx, node, hostscripts.Get(hostscripts.Facts), nil)
	if err != nil {
		return nil, fmt.Errorf("gathering host facts on node %s: %w", node, err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("gathering host facts on node %s failed (exit %d): %s",
			node, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	f, err := hostscripts.ParseFacts(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node, err)
	}
	return f, nil
}
