package migrate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// Host paths crimig writes besides the translated files.
const (
	modulesLoadConf = "/etc/modules-load.d/crimig.conf"
	sysctlConf      = "/etc/sysctl.d/99-crimig.conf"
)

func (r *run) runDir() string { return hostscripts.RunDir(r.state.RunID) }

// nodePlan returns the node's plan, building it when a resumed run skipped
// the preflight.
func (r *run) nodePlan(ctx context.Context) (*inspect.NodePlan, error) {
	if r.plan != nil {
		return r.plan, nil
	}
	p, err := r.e.Preflight(ctx, r.node)
	if err != nil {
		return nil, err
	}
	for i := range p.Nodes {
		if p.Nodes[i].Name == r.node {
			r.full, r.plan = p, &p.Nodes[i]
			return r.plan, nil
		}
	}
	return nil, fmt.Errorf("the plan has no entry for node %s", r.node)
}

func (r *run) preflight(ctx context.Context) error {
	np, err := r.nodePlan(ctx)
	if err != nil {
		return err
	}
	if !np.Eligible {
		return fmt.Errorf("node %s runs %s, not docker; nothing to migrate", r.node, np.Runtime)
	}
	if np.Role == "control-plane" && !r.e.Options.AllowControlPlane {
		return fmt.Errorf("node %s is a control-plane node: its API server restarts with the kubelet; migrate it last and alone, with --allow-control-plane", r.node)
	}
	if np.Changes != nil {
		r.state.CgroupDriver, r.state.KubeletLogMax = np.Changes.CgroupDriver, np.Changes.KubeletLogMax
	}
	blockers := r.full.BlockersFor(r.node, r.e.Options.Accept)
	if len(blockers) == 0 {
		r.e.emit(r.node, inspect.StepPreflight, PhaseInfo, fmt.Sprintf("%d warning(s), no unaccepted blocker", np.Summary.Warnings))
		return nil
	}
	var lines []string
	for _, b := range blockers {
		lines = append(lines, fmt.Sprintf("%s %s: %s", b.ID, b.Subject, b.Message))
	}
	return fmt.Errorf("%d blocker(s): %s; fix them, or accept each with --accept ID (see 'kubectl crimig plan %s')",
		len(blockers), strings.Join(lines, "; "), r.node)
}

// backupPaths lists every host file the migration may change.
func (r *run) backupPaths(np *inspect.NodePlan) []string {
	paths := []string{modulesLoadConf, sysctlConf}
	for _, f := range np.Files {
		paths = append(paths, f.Path)
	}
	for _, c := range np.Copies {
		for _, f := range c.Files {
			paths = append(paths, path.Join(c.To, f))
		}
	}
	return paths
}

func (r *run) backup(ctx context.Context) error {
	np, err := r.nodePlan(ctx)
	if err != nil {
		return err
	}
	paths := r.backupPaths(np)
	env := map[string]string{"CRIMIG_RUN_ID": r.state.RunID, "CRIMIG_BACKUP_PATHS": strings.Join(paths, "\n")}
	sum, err := scriptResult(ctx, r, hostscripts.Backup, env, hostscripts.ParseBackupSummary)
	if err != nil {
		return err
	}
	saved := map[string]bool{}
	absent := 0
	for _, f := range sum.Files {
		saved[f.Path] = true
		if f.Absent {
			absent++
		}
	}
	for _, p := range paths {
		if !saved[p] {
			return fmt.Errorf("%s did not record %s in %s/manifest.tsv; nothing was changed yet: run the same command again", hostscripts.Backup, p, sum.Dir)
		}
	}
	r.e.emit(r.node, inspect.StepBackup, PhaseInfo, fmt.Sprintf("%d file(s) backed up to %s (%d copied, %d absent before the migration, which a rollback deletes)",
		len(sum.Files), sum.Dir, len(sum.Files)-absent, absent))
	return nil
}

func (r *run) kernel(ctx context.Context) error {
	res, err := scriptResult(ctx, r, hostscripts.Kernel, nil, hostscripts.ParseKernelResult)
	if err != nil {
		return err
	}
	changed := "none changed"
	if len(res.Changed) > 0 {
		changed = "wrote " + strings.Join(res.Changed, ", ")
	}
	loaded := "none"
	if l := res.Loaded(); len(l) > 0 {
		loaded = strings.Join(l, ", ")
	}
	r.e.emit(r.node, inspect.StepKernel, PhaseInfo, fmt.Sprintf("modules %s: loaded now %s, already in the kernel %s; %s",
		strings.Join(res.Modules, ", "), loaded, listOrNone(res.Present), changed))
	return nil
}

func (r *run) install(ctx context.Context) error {
	np, err := r.nodePlan(ctx)
	if err != nil {
		return err
	}
	src, err := inspect.ParseSource(r.e.Options.Source)
	if err != nil {
		return err
	}
	env := map[string]string{
		"CRIMIG_RUN_ID":         r.state.RunID,
		"CRIMIG_TARGET":         r.state.To,
		"CRIMIG_TARGET_VERSION": np.TargetVersion,
		"CRIMIG_SOURCE":         src.Kind,
		"CRIMIG_PODMAN":         boolEnv(r.e.Options.Podman),
	}
	switch src.Kind {
	case "repo":
		if err := r.repoEnv(src, env); err != nil {
			return err
		}
	case "bundle":
		hostPath, err := r.uploadBundle(ctx, src.File)
		if err != nil {
			return err
		}
		env["CRIMIG_BUNDLE"] = hostPath
	}
	res, err := scriptResult(ctx, r, hostscripts.Install, env, hostscripts.ParseInstallResult)
	if err != nil {
		return err
	}
	r.reportInstall(res)
	return nil
}

// reportInstall says what install.sh did. A podman that could not be
// installed does not stop the migration, but the user is told, and the
// state keeps it: crictl works without podman, scripts that call podman
// do not.
func (r *run) reportInstall(res *hostscripts.InstallResult) {
	what := fmt.Sprintf("%s %s at %s", r.state.To, res.Version, res.Binary)
	if res.Installed {
		r.e.emit(r.node, inspect.StepInstall, PhaseInfo, fmt.Sprintf("installed %s from %s", what, res.Method))
	} else {
		r.e.emit(r.node, inspect.StepInstall, PhaseInfo, fmt.Sprintf("%s was already installed; left as it is", what))
	}
	if len(res.Files) > 0 {
		r.e.emit(r.node, inspect.StepInstall, PhaseInfo, "package repository files written: "+strings.Join(res.Files, ", "))
	}
	if res.Podman == hostscripts.PodmanFailed {
		r.warn(inspect.StepInstall, "podman could not be installed (see the package manager's output above); "+
			r.state.To+" is installed and the migration goes on, but install podman on the node yourself if you use it")
	}
}

// repoEnv hands install.sh the mirror, and the operator's signing key or
// the operator's word that the mirror is unsigned.
func (r *run) repoEnv(src inspect.Source, env map[string]string) error {
	env["CRIMIG_REPO_URL"] = src.URL
	if r.e.Options.InsecureRepo {
		env["CRIMIG_REPO_INSECURE"] = "1"
	}
	if src.KeyFile == "" {
		return nil
	}
	key, err := inspect.ReadRepoKey(src.KeyFile)
	env["CRIMIG_REPO_KEY"] = key
	return err
}

// configure stages the translated files; the swap job installs them once
// the kubelet and docker are stopped, so a kubelet that restarts early never
// sees a half-configured host.
func (r *run) configure(ctx context.Context) error {
	np, err := r.nodePlan(ctx)
	if err != nil {
		return err
	}
	staged := 0
	for _, f := range np.Files {
		if !f.Changed {
			continue
		}
		mode, err := parseMode(f.Mode)
		if err != nil {
			return err
		}
		dst := path.Join(r.runDir(), "staged", f.Path)
		if err := r.e.Host.Upload(ctx, r.node, dst, bytes.NewReader([]byte(f.Content)), int64(len(f.Content)), mode); err != nil {
			return fmt.Errorf("staging %s: %w", f.Path, err)
		}
		staged++
		r.e.emitProgress(r.node, inspect.StepConfigure, PhaseProgress, "staged "+f.Path, float64(staged)/float64(len(np.Files)))
	}
	return r.copyCerts(ctx, np)
}

// copyCerts gives the new runtime docker's registry certificates. They are
// copied now, not by the swap job: docker never reads the new runtime's
// certs.d, and backup.sh already saved whatever was there.
func (r *run) copyCerts(ctx context.Context, np *inspect.NodePlan) error {
	var pairs []string
	total := 0
	for _, c := range np.Copies {
		if len(c.Files) > 0 {
			pairs = append(pairs, c.From+"\t"+c.To)
			total += len(c.Files)
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	out, err := r.scriptOut(ctx, hostscripts.CopyCerts, map[string]string{"CRIMIG_COPIES": strings.Join(pairs, "\n")})
	if err != nil {
		return err
	}
	copied := strings.Count(string(out), "copied ")
	r.e.emit(r.node, inspect.StepConfigure, PhaseInfo, fmt.Sprintf("registry certificates: %d of %d file(s) from %s copied, the rest already in place",
		copied, total, hostconf.DockerCertsDir))
	return nil
}

// scriptOut runs an embedded host script and returns its stdout; a
// non-zero exit is an error carrying the script's last words.
func (r *run) scriptOut(ctx context.Context, name string, env map[string]string) ([]byte, error) {
	res, err := r.e.Host.Run(ctx, r.node, hostscripts.Get(name), env)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("%s exited %d: %s", name, res.ExitCode, lastLines(res.Stderr, 5))
	}
	return res.Stdout, nil
}

// scriptResult runs an embedded host script and decodes the result line it
// prints.
func scriptResult[T any](ctx context.Context, r *run, name string, env map[string]string, parse func([]byte) (*T, error)) (*T, error) {
	out, err := r.scriptOut(ctx, name, env)
	if err != nil {
		return nil, err
	}
	return parse(out)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func parseMode(s string) (os.FileMode, error) {
	var m uint32
	if _, err := fmt.Sscanf(s, "%o", &m); err != nil {
		return 0, fmt.Errorf("bad file mode %q: %w", s, err)
	}
	return os.FileMode(m), nil
}
