package hostscripts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// BackupSummary is what backup.sh prints: the backup directory and every
// file of the run's manifest, including those backed up by earlier runs.
type BackupSummary struct {
	Dir   string       `json:"dir"`
	Files []BackupFile `json:"files"`
}

// BackupFile is one manifest entry. Absent files did not exist before the
// migration, so a restore deletes them.
type BackupFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
	Mode   string `json:"mode,omitempty"` // octal, for example "0644"
	Absent bool   `json:"absent"`
}

// ParseBackupSummary decodes the output of backup.sh.
func ParseBackupSummary(out []byte) (*BackupSummary, error) {
	var s BackupSummary
	if err := json.Unmarshal(lastJSONLine(out), &s); err != nil {
		return nil, fmt.Errorf("decode backup summary: %w", err)
	}
	if s.Dir == "" {
		return nil, fmt.Errorf("decode backup summary: no backup directory in %q", out)
	}
	return &s, nil
}

// KernelResult is what kernel.sh prints.
type KernelResult struct {
	Changed []string `json:"changed"` // files written because their content differed
	Modules []string `json:"modules"`
	// Present are the modules the kernel already had (built in or loaded),
	// for which modprobe was not run.
	Present []string `json:"present"`
}

// Loaded are the modules kernel.sh loaded with modprobe.
func (r *KernelResult) Loaded() []string {
	var out []string
	for _, m := range r.Modules {
		if !slices.Contains(r.Present, m) {
			out = append(out, m)
		}
	}
	return out
}

// ParseKernelResult decodes the output of kernel.sh.
func ParseKernelResult(out []byte) (*KernelResult, error) {
	var r KernelResult
	if err := json.Unmarshal(lastJSONLine(out), &r); err != nil {
		return nil, fmt.Errorf("decode kernel.sh result: %w", err)
	}
	if len(r.Modules) == 0 {
		return nil, fmt.Errorf("decode kernel.sh result: no modules in %q", lastJSONLine(out))
	}
	return &r, nil
}

// ReuseResult is what reuse-file.sh prints.
type ReuseResult struct {
	// Found is true when the destination now holds the wanted content.
	Found bool `json:"found"`
	// From is the file whose content matched: the destination itself, or
	// an earlier copy that was linked to it.
	From string `json:"from,omitempty"`
}

// ParseReuseResult decodes the output of reuse-file.sh.
func ParseReuseResult(out []byte) (*ReuseResult, error) {
	var r ReuseResult
	if err := json.Unmarshal(lastJSONLine(out), &r); err != nil {
		return nil, fmt.Errorf("decode reuse-file.sh result: %w", err)
	}
	return &r, nil
}

// InstallResult is the last line install.sh prints.
type InstallResult struct {
	// Installed is false when the runtime was already there.
	Installed bool `json:"installed"`
	// Method is "pkgs", "repo", "bundle", or "present" when it was already installed.
	Method string `json:"method"`
	// Binary is the runtime binary that was found or installed, and Version
	// the x.y.z its --version reports.
	Binary  string `json:"binary,omitempty"`
	Version string `json:"version,omitempty"`
	// Podman is "installed", "present", "skipped" or PodmanFailed; a podman
	// that cannot be installed does not fail the runtime's install.
	Podman string `json:"podman,omitempty"`
	// Files are the repository files install.sh wrote.
	Files []string `json:"files"`
}

// PodmanFailed is InstallResult.Podman when the package manager could not
// install podman.
const PodmanFailed = "failed"

// ParseInstallResult decodes the last line of install.sh's output; the
// package manager's own output comes before it.
func ParseInstallResult(out []byte) (*InstallResult, error) {
	var r InstallResult
	if err := json.Unmarshal(lastJSONLine(out), &r); err != nil {
		return nil, fmt.Errorf("decode install.sh result: %w", err)
	}
	if r.Method == "" {
		return nil, fmt.Errorf("decode install.sh result: no method in %q", lastJSONLine(out))
	}
	return &r, nil
}

// lastJSONLine returns the last line of out that starts with "{".
func lastJSONLine(out []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if l := bytes.TrimSpace(lines[i]); bytes.HasPrefix(l, []byte("{")) {
			return l
		}
	}
	return bytes.TrimSpace(out)
}
