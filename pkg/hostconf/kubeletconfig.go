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

// MinRuntimeRequestTimeout is the floor crimig sets: the seed procedure uses
// 5m because the first pulls through a cold CRI runtime can exceed the
// kubelet's 2m default. A larger value set by the operator is kept.
const MinRuntimeRequestTimeout = 5 * time.Minute

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
	RuntimeRequestTimeout    time.Duration // raised to this when unset, 0s or lower
	LogMax                   *LogMax
	ContainerRuntimeEndpoint string // kubelet ≥1.27 only
}

// EditKubeletConfig applies e to a KubeletConfiguration YAML document,
// editing top-level lines in place so comments, key order and unknown
// fields survive. The result must strict-decode as
// kubelet.config.k8s.io/v1beta1, which is what the kubelet will do.
func EditKubeletConfig(doc []byte, e ConfigEdits) ([]byte, error) {
	current, err := decodeKubeletConfig(doc)
	if err != nil {
		return nil, fmt.Errorf("existing kubelet config: %w", err)
	}
	sets := configSets(current, e)
	out, err := setTopLevel(doc, sets)
	if err != nil {
		return nil, err
	}
	if _, err := decodeKubeletConfig(out); err != nil {
		return nil, fmt.Errorf("edited kubelet config would not load: %w", err)
	}
	return out, nil
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
	num        bool // written as a YAML integer, not a string
}

func configSets(cur *kubeletv1beta1.KubeletConfiguration, e ConfigEdits) []keyValue {
	var sets []keyValue
	if e.CgroupDriver != "" {
		sets = append(sets, keyValue{"cgroupDriver", e.CgroupDriver, false})
	}
	if e.RuntimeRequestTimeout > 0 && cur.RuntimeRequestTimeout.Duration < e.RuntimeRequestTimeout {
		sets = append(sets, keyValue{"runtimeRequestTimeout", shortDuration(e.RuntimeRequestTimeout), false})
	}
	if e.LogMax != nil {
		if e.LogMax.MaxSize != "" {
			sets = append(sets, keyValue{"containerLogMaxSize", e.LogMax.MaxSize, false})
		}
		if e.LogMax.MaxFiles > 0 {
			sets = append(sets, keyValue{"containerLogMaxFiles", strconv.Itoa(int(e.LogMax.MaxFiles)), true})
		}
	}
	if e.ContainerRuntimeEndpoint != "" {
		sets = append(sets, keyValue{"containerRuntimeEndpoint", e.ContainerRuntimeEndpoint, false})
		if cur.ImageServiceEndpoint != "" {
			// It pointed at the old runtime; the kubelet defaults it to the runtime endpoint.
			sets = append(sets, keyValue{"imageServiceEndpoint", e.ContainerRuntimeEndpoint, false})
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
