package hostconf

import (
	"fmt"
	"sort"
	"strings"
)

// Kubelet flags files, in the order systemd's 10-kubeadm.conf expands them:
// KUBELET_KUBEADM_ARGS before KUBELET_EXTRA_ARGS, so a later file wins.
const (
	KubeadmFlagsEnv  = "/var/lib/kubelet/kubeadm-flags.env"
	SysconfigKubelet = "/etc/sysconfig/kubelet"
	DefaultKubelet   = "/etc/default/kubelet"
)

// FlagsResult is the outcome of cleaning the kubelet flags files.
type FlagsResult struct {
	Files         []File   // every input file, in kubelet expansion order
	EndpointFile  string   // the one file that carries the runtime endpoint, "" for ≥1.27
	PodInfraImage string   // value of a removed --pod-infra-container-image
	CgroupDriver  string   // value of a removed --cgroup-driver
	Removed       []string // "path: --flag=value" for the plan
}

// dockershimFlag reports flags that belong to dockershim or name the old
// runtime; kubelet ≥1.24 rejects most of them and 1.37 rejects
// --pod-infra-container-image (design 7b).
func dockershimFlag(name string) bool {
	switch name {
	case "network-plugin", "network-plugin-mtu", "pod-infra-container-image", "cgroup-driver",
		"image-pull-progress-deadline", "experimental-dockershim", "image-service-endpoint",
		"experimental-dockershim-root-directory", "redirect-container-streaming":
		return true
	}
	return strings.HasPrefix(name, "cni-") || strings.HasPrefix(name, "docker-") || strings.HasPrefix(name, "dockershim")
}

func isArgsKey(k string) bool {
	return strings.HasPrefix(k, "KUBELET") && (strings.HasSuffix(k, "_ARGS") || strings.HasSuffix(k, "_OPTS"))
}

// flagsFileOrder puts kubeadm-flags.env first and sorts the rest, so that
// the last value of a repeated flag is the one the kubelet used.
func flagsFileOrder(files map[string][]byte) []string {
	paths := sortedKeys(files)
	sort.SliceStable(paths, func(i, j int) bool {
		return paths[i] == KubeadmFlagsEnv && paths[j] != KubeadmFlagsEnv
	})
	return paths
}

// endpointFile picks the single file that gets the runtime endpoint:
// kubeadm-flags.env when present, so that a later `kubeadm upgrade`
// rewriting it keeps the runtime consistent.
func endpointFile(paths []string) string {
	for _, want := range []string{KubeadmFlagsEnv, SysconfigKubelet, DefaultKubelet} {
		for _, p := range paths {
			if p == want {
				return p
			}
		}
	}
	if len(paths) > 0 {
		return paths[0]
	}
	return ""
}

// EditKubeletFlags cleans every flags file and sets the runtime endpoint in
// the form the kubelet version expects. files maps path to content for the
// files that exist.
func EditKubeletFlags(files map[string][]byte, kubeletVersion, endpoint string) (FlagsResult, error) {
	minor, err := kubeletMinor(kubeletVersion)
	if err != nil {
		return FlagsResult{}, err
	}
	paths := flagsFileOrder(files)
	var res FlagsResult
	if minor < 27 {
		res.EndpointFile = endpointFile(paths)
		if res.EndpointFile == "" {
			return res, fmt.Errorf("kubelet %s takes the runtime endpoint as a flag, but no flags file "+
				"(%s, %s, %s) was found; create one or pass the files the kubelet unit reads",
				kubeletVersion, KubeadmFlagsEnv, SysconfigKubelet, DefaultKubelet)
		}
	}
	for _, p := range paths {
		ed := &flagsEditor{path: p, minor: minor, endpoint: endpoint, res: &res}
		after, err := ed.edit(files[p], p == res.EndpointFile)
		if err != nil {
			return FlagsResult{}, err
		}
		res.Files = append(res.Files, newFile(p, 0o644, files[p], after, ed.reason(p == res.EndpointFile), ed.edits))
	}
	return res, nil
}

type flagsEditor struct {
	path          string
	minor         int
	endpoint      string
	res           *FlagsResult
	foundEndpoint bool
	edits         []Edit
}

// reason is why the plan lists the flags file at all.
func (e *flagsEditor) reason(carriesEndpoint bool) string {
	why := "the kubelet reads its flags from this file; flags that belong to docker or dockershim are removed"
	if len(e.edits) == 0 {
		return "the kubelet reads its flags from this file; none of them belongs to docker or dockershim, so it stays as it is"
	}
	if carriesEndpoint {
		why += fmt.Sprintf(", and kubelet 1.%d takes the runtime endpoint as a flag, set here only, so that no other file overrides it", e.minor)
	}
	return why
}

func (e *flagsEditor) edit(before []byte, carriesEndpoint bool) ([]byte, error) {
	f := parseEnvFile(before)
	last := -1
	var lastFlags []cliFlag
	for i, line := range f.lines {
		a, ok, err := parseAssign(line)
		if err != nil || !ok || !isArgsKey(a.Key) {
			continue
		}
		toks, err := tokenize(a.Value)
		if err != nil {
			return nil, fmt.Errorf("%s line %d (%s): %w", e.path, i+1, a.Key, err)
		}
		fs, changed := e.clean(parseFlags(toks), carriesEndpoint)
		if v := renderFlags(fs); changed && v != a.Value {
			a.Value = v
			f.lines[i] = a.String()
		}
		last, lastFlags = i, fs
	}
	if carriesEndpoint {
		f = e.setEndpoint(f, last, lastFlags)
	}
	return f.bytes(), nil
}

// clean drops dockershim flags and old runtime flags. In the endpoint file
// the first runtime flag is replaced in place by the new ones (with
// --container-runtime=remote for ≤1.23); elsewhere both runtime flags go,
// because KUBELET_EXTRA_ARGS would override the endpoint file.
func (e *flagsEditor) clean(fs []cliFlag, carriesEndpoint bool) ([]cliFlag, bool) {
	out := make([]cliFlag, 0, len(fs)+1)
	changed := false
	for _, f := range fs {
		switch {
		case dockershimFlag(f.Name):
			e.record(f, dockershimFlagReason(f.Name))
		case carriesEndpoint && e.ownsRuntimeFlag(f.Name):
			if e.foundEndpoint {
				e.record(f, "a repeat of the flag would override the runtime endpoint written before it")
				break
			}
			e.foundEndpoint = true
			e.setRuntimeFlags(f)
			out = append(out, e.runtimeFlags()...)
		case f.Name == "container-runtime" || f.Name == "container-runtime-endpoint":
			e.record(f, e.runtimeFlagReason(f.Name))
		default:
			out = append(out, f)
			continue
		}
		changed = true
	}
	return out, changed
}

// ownsRuntimeFlag reports the flags replaced in place in the endpoint file.
func (e *flagsEditor) ownsRuntimeFlag(name string) bool {
	return name == "container-runtime-endpoint" || (name == "container-runtime" && e.minor <= 23)
}

// record notes a removed flag, with why, and keeps the values the runtime
// needs.
func (e *flagsEditor) record(f cliFlag, why string) {
	was := f.Value
	if !f.HasValue {
		was = "true"
	}
	e.edits = append(e.edits, Edit{Key: "--" + f.Name, Before: was, Reason: why})
	switch f.Name {
	case "pod-infra-container-image":
		e.res.PodInfraImage = f.Value
	case "cgroup-driver":
		e.res.CgroupDriver = f.Value
	}
	e.res.Removed = append(e.res.Removed, e.path+": "+strings.Join(f.Raw, " "))
}

func (e *flagsEditor) runtimeFlags() []cliFlag {
	ep := cliFlag{Name: "container-runtime-endpoint", Value: e.endpoint, HasValue: true, changed: true}
	if e.minor <= 23 {
		rt := cliFlag{Name: "container-runtime", Value: "remote", HasValue: true, changed: true}
		return []cliFlag{rt, ep}
	}
	return []cliFlag{ep}
}

// setEndpoint appends the runtime flags when the endpoint file had none: to
// the last KUBELET_*_ARGS line, or as a new line when there is none.
func (e *flagsEditor) setEndpoint(f envFile, last int, lastFlags []cliFlag) envFile {
	if e.foundEndpoint {
		return f
	}
	e.foundEndpoint = true
	e.setRuntimeFlags(cliFlag{})
	if last < 0 {
		key := "KUBELET_EXTRA_ARGS"
		if e.path == KubeadmFlagsEnv {
			key = "KUBELET_KUBEADM_ARGS"
		}
		a := envAssign{Key: key, Quote: '"', Value: renderFlags(e.runtimeFlags())}
		f.lines = append(f.lines, a.String())
		f.final = true
		return f
	}
	a, _, _ := parseAssign(f.lines[last])
	a.Value = renderFlags(append(lastFlags, e.runtimeFlags()...))
	f.lines[last] = a.String()
	return f
}

// setRuntimeFlags records the runtime flags written in place of old, the
// first runtime flag of the endpoint file (zero when there was none).
func (e *flagsEditor) setRuntimeFlags(old cliFlag) {
	for _, f := range e.runtimeFlags() {
		was := ""
		if f.Name == old.Name {
			was = old.Value
		}
		why := fmt.Sprintf("points the kubelet at the new runtime's CRI socket; kubelet 1.%d takes it as a flag (config.yaml only from 1.27)", e.minor)
		if f.Name == "container-runtime" {
			why = "kubelet 1.23 and older talk to a CRI runtime other than dockershim only with --container-runtime=remote"
		}
		e.edits = append(e.edits, Edit{Key: "--" + f.Name, Before: was, After: f.Value, Reason: why})
	}
}

// runtimeFlagReason is why a runtime flag goes from a file that does not
// carry the endpoint, or from every file from kubelet 1.27 on.
func (e *flagsEditor) runtimeFlagReason(name string) string {
	where := "config.yaml's containerRuntimeEndpoint"
	if e.minor < 27 {
		where = e.res.EndpointFile
	}
	if name == "container-runtime" && e.minor >= 24 {
		return "kubelet 1.24 and later talk only to CRI runtimes, so the flag has nothing to choose, and kubelet 1.27 removed it"
	}
	return "it named the old runtime; the new runtime is set in " + where + ", which a value here would override"
}

// dockershimFlagReason is why a flag dockershimFlag reports is removed.
func dockershimFlagReason(name string) string {
	switch {
	case name == "pod-infra-container-image":
		return "the pause image is the runtime's setting now (pause_image or sandbox image, in this plan); " +
			"the flag is deprecated since kubelet 1.27 and kubelet 1.37 rejects it and does not start"
	case name == "cgroup-driver":
		return "moved to config.yaml's cgroupDriver, which this plan sets to the same driver; the flag is deprecated in favour of the configuration file"
	case name == "image-service-endpoint":
		return "it pointed at the old runtime; without it the kubelet uses the new runtime's endpoint for images too"
	case strings.HasPrefix(name, "network-plugin") || strings.HasPrefix(name, "cni-"):
		return "dockershim's network setting: a CRI runtime runs the CNI plugins itself, and kubelet 1.24 and later, " +
			"without dockershim, do not start with the flag"
	}
	return "a dockershim-only flag: it means nothing with a CRI runtime, and kubelet 1.24 and later, without dockershim, do not start with it"
}
