package plugin

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// probeSource asks the host whether it reaches the package source migrate
// would use. A probe that cannot run says nothing: it is not a finding.
func (o *PlanOptions) probeSource(ctx context.Context, ex *nodeexec.Executor, node, kubeletVersion string) *inspect.SourceProbe {
	src, err := inspect.ParseSource(o.Source)
	if err != nil || src.Kind == "bundle" {
		return nil
	}
	version := o.TargetVersion
	if version == "" {
		version = inspect.DefaultTargetVersion(hostconf.Target(o.Target), kubeletVersion)
	}
	env := map[string]string{"CRIMIG_TARGET": o.Target, "CRIMIG_TARGET_VERSION": version, "CRIMIG_SOURCE": src.Kind, "CRIMIG_REPO_URL": src.URL}
	res, err := ex.Run(ctx, node, hostscripts.Get(hostscripts.ProbeSource), env)
	if err != nil || res.ExitCode != 0 {
		return nil
	}
	var p inspect.SourceProbe
	if json.Unmarshal([]byte(strings.TrimSpace(string(res.Stdout))), &p) != nil {
		return nil
	}
	return &p
}
