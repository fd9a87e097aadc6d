package hostconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// DaemonConfig is the subset of /etc/docker/daemon.json that crimig
// translates. Every key, known or not, stays in Raw so that the loss report
// can name what was left behind.
type DaemonConfig struct {
	ExecOpts           []string               `json:"exec-opts"`
	DataRoot           string                 `json:"data-root"`
	Graph              string                 `json:"graph"`
	RegistryMirrors    []string               `json:"registry-mirrors"`
	InsecureRegistries []string               `json:"insecure-registries"`
	LogDriver          string                 `json:"log-driver"`
	LogOpts            map[string]string      `json:"log-opts"`
	DefaultUlimits     map[string]Ulimit      `json:"default-ulimits"`
	Runtimes           map[string]RuntimeSpec `json:"runtimes"`
	DefaultRuntime     string                 `json:"default-runtime"`
	StorageDriver      string                 `json:"storage-driver"`
	StorageOpts        []string               `json:"storage-opts"`

	Raw map[string]json.RawMessage `json:"-"`
}

// Ulimit is docker's default-ulimits entry.
type Ulimit struct {
	Name string `json:"Name"`
	Soft int64  `json:"Soft"`
	Hard int64  `json:"Hard"`
}

// RuntimeSpec is one docker "runtimes" entry (nvidia-container-runtime etc.).
type RuntimeSpec struct {
	Path        string   `json:"path"`
	RuntimeArgs []string `json:"runtimeArgs"`
}

// ParseDaemonJSON parses daemon.json. Empty or whitespace-only input (no file)
// gives an empty config. Unknown keys are accepted and kept in Raw; a syntax
// error names the line and column, because operators fix these by hand.
func ParseDaemonJSON(b []byte) (*DaemonConfig, error) {
	cfg := &DaemonConfig{Raw: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(b)) == 0 {
		return cfg, nil
	}
	if err := json.Unmarshal(b, &cfg.Raw); err != nil {
		return nil, fmt.Errorf("daemon.json: %w", jsonErrContext(b, err))
	}
	for _, key := range sortedKeys(cfg.Raw) {
		if err := cfg.decodeKey(key, cfg.Raw[key]); err != nil {
			return nil, fmt.Errorf("daemon.json: key %q: %w", key, err)
		}
	}
	return cfg, nil
}

// decodeKey decodes one known key into its field; unknown keys are left
// for the loss report. Decoding key by key lets the error name the key.
func (c *DaemonConfig) decodeKey(key string, raw json.RawMessage) error {
	targets := map[string]any{
		"exec-opts": &c.ExecOpts, "data-root": &c.DataRoot, "graph": &c.Graph,
		"registry-mirrors": &c.RegistryMirrors, "insecure-registries": &c.InsecureRegistries,
		"log-driver": &c.LogDriver, "log-opts": &c.LogOpts,
		"default-ulimits": &c.DefaultUlimits, "runtimes": &c.Runtimes,
		"default-runtime": &c.DefaultRuntime, "storage-driver": &c.StorageDriver,
		"storage-opts": &c.StorageOpts,
	}
	t, ok := targets[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, t); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("want %s, found JSON %s", te.Type, te.Value)
		}
		return err
	}
	return nil
}

// jsonErrContext turns a byte offset into line:column and shows the line.
func jsonErrContext(b []byte, err error) error {
	var se *json.SyntaxError
	var off int64
	switch {
	case errors.As(err, &se):
		off = se.Offset
	default:
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return err
		}
		return fmt.Errorf("top level must be a JSON object, found %s", te.Value)
	}
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	before := b[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	text := b[bytes.LastIndexByte(before, '\n')+1:]
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	return fmt.Errorf("line %d, column %d: %w (near %q); fix the file or move it aside",
		line, col, err, strings.TrimSpace(string(text)))
}

// CgroupDriver returns the driver set by exec-opts native.cgroupdriver, or ""
// when daemon.json leaves it to docker's default.
func (c *DaemonConfig) CgroupDriver() string {
	for _, o := range c.ExecOpts {
		k, v, ok := strings.Cut(o, "=")
		if ok && strings.TrimSpace(k) == "native.cgroupdriver" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// EffectiveDataRoot honours the deprecated "graph" alias.
func (c *DaemonConfig) EffectiveDataRoot() string {
	if c.DataRoot != "" {
		return c.DataRoot
	}
	return c.Graph
}

// rawString is a compact rendering of a raw value for a Loss.
func (c *DaemonConfig) rawString(key string) string {
	raw, ok := c.Raw[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
