package hostconf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"
)

// KubeletConfigPath is the kubelet's config file on kubeadm nodes.
const KubeletConfigPath = "/var/lib/kubelet/config.yaml"

// MinRuntimeRequestTimeout is the floor crimig sets, the value of the seed
// procedure; runtimeRequestTimeoutReason says why. A larger value set by the
// operator is kept.
const MinRuntimeRequestTimeout = 5 * time.Minute

// runtimeRequestTimeoutReason: the timeout does not cover image pulls (the
// kubelet's CRI client pulls without a deadline), so the reason is the
// burst of sandbox and container creations right after the swap.
const runtimeRequestTimeoutReason = "the seed's procedure sets 5m: the kubelet's default (2m, which 0s or unset means) " +
	"bounds every CRI call except image pulls, logs, exec and attach; right after the swap every pod on the node " +
	"is re-created at once on a runtime that starts cold, and a sandbox or container creation cut off at 2m is " +
	"retried while the runtime still works on the first (CRI-O answers \"name is reserved\"), so pods loop " +
	"instead of starting; a larger value is kept"

// LogMax is the kubelet's container log rotation, taken from daemon.json
// log-opts.
type LogMax struct {
	MaxSize  string `json:"maxSize"`  // resource.Quantity, e.g. "100Mi"
	MaxFiles int32  `json:"maxFiles"` // ≥ 2, the kubelet's lower bound
}

// ConfigEdits are the changes to a KubeletConfiguration document; empty
// fields leave the document alone.
type ConfigEdits struct {
	CgroupDriver             string
	CgroupDriverFrom         string        // where the driver was found, for the plan's reason
	RuntimeRequestTimeout    time.Duration // raised to this when unset, 0s or lower
	LogMax                   *LogMax
	ContainerRuntimeEndpoint string // kubelet ≥1.27 only
}

// EditKubeletConfig applies e to a KubeletConfiguration YAML document,
// editing top-level lines in place so comments, key order and unknown
// fields survive. The result must strict-decode as
// kubelet.config.k8s.io/v1beta1, which is what the kubelet will do.
func EditKubeletConfig(doc []byte, e ConfigEdits) ([]byte, error) {
	out, _, err := editKubeletConfig(doc, e)
	return out, err
}

// editKubeletConfig is EditKubeletConfig with the edits that change a
// value, each with its reason, for the plan.
func editKubeletConfig(doc []byte, e ConfigEdits) ([]byte, []Edit, error) {
	current, err := decodeKubeletConfig(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("existing kubelet config: %w", err)
	}
	sets := configSets(current, e)
	out, err := setTopLevel(doc, sets)
	if err != nil {
		return nil, nil, err
	}
	if _, err := decodeKubeletConfig(out); err != nil {
		return nil, nil, fmt.Errorf("edited kubelet config would not load: %w", err)
	}
	return out, changedSettings(doc, sets), nil
}

// changedSettings keeps the sets that change what the document says; the
// values before are read as written, so "0s" stays "0s".
func changedSettings(doc []byte, sets []keyValue) []Edit {
	var before map[string]any
	_ = yaml.Unmarshal(doc, &before) // it strict-decoded above
	var edits []Edit
	for _, s := range sets {
		was := ""
		if v, ok := before[s.key]; ok && v != nil {
			was = fmt.Sprint(v)
		}
		if was != s.value {
			edits = append(edits, Edit{Key: s.key, Before: was, After: s.value, Reason: s.reason})
		}
	}
	return edits
}

// KubeletCgroupDriver is the cgroup driver a KubeletConfiguration document
// sets, with the kubelet's default (cgroupfs) when it sets none, or "" when
// the document does not decode.
func KubeletCgroupDriver(doc string) string {
	kc, err := decodeKubeletConfig([]byte(doc))
	switch {
	case err != nil:
		return ""
	case kc.CgroupDriver == "":
		return "cgroupfs"
	}
	return kc.CgroupDriver
}

// decodeKubeletConfig is the kubelet's own acceptance test for the file.
func decodeKubeletConfig(doc []byte) (*kubeletv1beta1.KubeletConfiguration, error) {
	var kc kubeletv1beta1.KubeletConfiguration
	if err := yaml.UnmarshalStrict(doc, &kc); err != nil {
		return nil, fmt.Errorf("not a valid KubeletConfiguration: %w", err)
	}
	if kc.Kind != "KubeletConfiguration" || kc.APIVersion != "kubelet.config.k8s.io/v1beta1" {
		return nil, fmt.Errorf("want kind KubeletConfiguration, apiVersion kubelet.config.k8s.io/v1beta1; found kind %q, apiVersion %q",
			kc.Kind, kc.APIVersion)
	}
	return &kc, nil
}

type keyValue struct {
	key, value string
	num        bool   // written as a YAML integer, not a string
	reason     string // why crimig sets it, for the plan
}

func configSets(cur *kubeletv1beta1.KubeletConfiguration, e ConfigEdits) []keyValue {
	var sets []keyValue
	if e.CgroupDriver != "" {
		why := "must match the new runtime's cgroup manager (CRI-O cgroup_manager, containerd SystemdCgroup), or no pod sandbox can start"
		if e.CgroupDriverFrom != "" {
			why += "; both keep the driver the node runs with (" + e.CgroupDriverFrom + ")"
		}
		sets = append(sets, keyValue{"cgroupDriver", e.CgroupDriver, false, why})
	}
	if e.RuntimeRequestTimeout > 0 && cur.RuntimeRequestTimeout.Duration < e.RuntimeRequestTimeout {
		sets = append(sets, keyValue{"runtimeRequestTimeout", shortDuration(e.RuntimeRequestTimeout), false, runtimeRequestTimeoutReason})
	}
	if e.LogMax != nil {
		if e.LogMax.MaxSize != "" {
			sets = append(sets, keyValue{"containerLogMaxSize", e.LogMax.MaxSize, false,
				"carried from daemon.json log-opts max-size: docker rotated each container's log at this size; with a CRI runtime the kubelet rotates them"})
		}
		if e.LogMax.MaxFiles > 0 {
			sets = append(sets, keyValue{"containerLogMaxFiles", strconv.Itoa(int(e.LogMax.MaxFiles)), true,
				"carried from daemon.json log-opts max-file (the kubelet keeps at least 2): how many log files docker kept per container"})
		}
	}
	if e.ContainerRuntimeEndpoint != "" {
		sets = append(sets, keyValue{"containerRuntimeEndpoint", e.ContainerRuntimeEndpoint, false,
			"points the kubelet at the new runtime's CRI socket; from kubelet 1.27 the endpoint is set in the configuration file, not by a flag"})
		if cur.ImageServiceEndpoint != "" {
			sets = append(sets, keyValue{"imageServiceEndpoint", e.ContainerRuntimeEndpoint, false,
				"it pointed at the old runtime; images are served by the new runtime's own socket"})
		}
	}
	return sets
}

// shortDuration writes 5m rather than Go's 5m0s, as operators do.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// setTopLevel sets each key on its existing top-level line, or inserts it.
// Flow-style documents ({...}) cannot be edited by line and are re-encoded.
func setTopLevel(doc []byte, sets []keyValue) ([]byte, error) {
	if len(sets) == 0 {
		return doc, nil
	}
	trimmed := bytes.TrimSpace(stripComments(doc))
	if bytes.HasPrefix(trimmed, []byte("{")) {
		return reencode(doc, sets)
	}
	y := parseYAMLLines(doc)
	if err := y.check(); err != nil {
		return nil, err
	}
	for _, s := range sets {
		v := s.value
		if !s.num {
			v = yamlScalar(v)
		}
		y.set(s.key, v)
	}
	return y.bytes(), nil
}

// reencode is the fallback for JSON-style files: order and comments are
// lost, but JSON files have no comments and sigs.k8s.io/yaml sorts keys.
func reencode(doc []byte, sets []keyValue) ([]byte, error) {
	var m map[string]any
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", KubeletConfigPath, err)
	}
	for _, s := range sets {
		m[s.key] = s.value
		if n, err := strconv.Atoi(s.value); err == nil && s.num {
			m[s.key] = n
		}
	}
	return yaml.Marshal(m)
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			b.Write(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
