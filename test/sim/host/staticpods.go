package host

import (
	"crypto/md5" //nolint:gosec // the kubelet's config hash is an md5 too; not a security use
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// StaticPod is one manifest in the running kubelet's static pod directory.
type StaticPod struct {
	File    string      // in-host path
	Pod     *corev1.Pod // decoded manifest; nil when Err is set
	Hash    string      // kubernetes.io/config.hash
	ModTime time.Time   // a changed manifest restarts its pod
	Err     error       // the kubelet skips a manifest it cannot decode
}

// StaticPodPath is the directory the running kubelet takes static pods
// from, "" when no kubelet runs or it has none. A state file written by an
// older simulator has no path recorded: the kubelet config tells it then.
func (h *Host) StaticPodPath() string {
	k := h.Kubelet()
	if k == nil {
		return ""
	}
	if k.StaticPodPath != "" {
		return k.StaticPodPath
	}
	flags := ParseFlags(k.Args)
	if p := flags["pod-manifest-path"]; p != "" {
		return p
	}
	m, err := h.Meta()
	if err != nil {
		return ""
	}
	cfg, err := h.LoadKubeletConfig(flags["config"], Minor(m.KubeletVersion))
	if err != nil {
		return ""
	}
	return cfg.StaticPodPath
}

// StaticPods reads the manifests in dir (in-host path) as a kubelet does:
// every regular file whose name does not start with a dot, in name order.
// node is the node name, part of the config hash.
func (h *Host) StaticPods(dir, node string) []StaticPod {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(h.P(dir))
	if err != nil {
		return nil
	}
	var out []StaticPod
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		file := filepath.Join(dir, e.Name())
		sp := StaticPod{File: file}
		if info, err := e.Info(); err == nil {
			sp.ModTime = info.ModTime()
		}
		data, err := os.ReadFile(h.P(file))
		if err == nil {
			sp.Pod, sp.Hash, err = DecodeStaticPod(data, file, node)
		}
		sp.Err = err
		out = append(out, sp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

// DecodeStaticPod decodes a manifest and computes its config hash from the
// manifest, the node and the file, as the kubelet derives a static pod's
// UID. The namespace defaults to "default".
func DecodeStaticPod(data []byte, file, node string) (*corev1.Pod, string, error) {
	var pod corev1.Pod
	if err := yaml.Unmarshal(data, &pod); err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	if pod.APIVersion != "v1" || pod.Kind != "Pod" {
		return nil, "", fmt.Errorf("%s: want apiVersion v1, kind Pod; got %s, %s", file, pod.APIVersion, pod.Kind)
	}
	if pod.Name == "" {
		return nil, "", fmt.Errorf("%s: metadata.name is empty", file)
	}
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	sum := md5.Sum([]byte(string(data) + "host:" + node + "file:" + file)) //nolint:gosec // see the import
	return &pod, hex.EncodeToString(sum[:]), nil
}
