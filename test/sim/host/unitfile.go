package host

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// unitDirs are searched in systemd's precedence order.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// UnitFile is the part of a unit (plus drop-ins) that the simulator honours.
type UnitFile struct {
	Path       string
	ExecStart  []string // the last non-empty ExecStart= after resets
	Env        map[string]string
	EnvFiles   []string // "-" prefix kept: optional file
	KillMode   string
	Requires   []string
	BindsTo    []string
	WantedBy   []string
	Digest     string // of the files it was parsed from
	Type       string
	Restart    string
	RestartSec time.Duration
	Conditions []string // ConditionPathExists= values, "!" kept
}

// NormUnit adds ".service" when a unit name has no type suffix.
func NormUnit(name string) string {
	for _, s := range []string{".service", ".socket", ".target", ".timer", ".mount", ".slice", ".scope", ".path"} {
		if strings.HasSuffix(name, s) {
			return name
		}
	}
	return name + ".service"
}

// FindUnit returns the in-host path of a unit's file, "" if the unit does not exist.
// A mask (symlink to /dev/null) counts as existing.
func (h *Host) FindUnit(unit string) string {
	for _, d := range unitDirs {
		p := filepath.Join(d, unit)
		if h.Exists(p) {
			return p
		}
	}
	return ""
}

// LoadedDir holds the units as systemd loaded them: edits on disk apply only
// after `systemctl daemon-reload` (or a reboot), as with systemd.
const LoadedDir = "/var/lib/sim/run/loaded"

// LoadUnit returns the unit as loaded: the snapshot taken at its first use
// since boot or the last daemon-reload, else the files on disk.
func (h *Host) LoadUnit(unit string) (*UnitFile, bool) {
	snap := filepath.Join(LoadedDir, unit+".json")
	if data := h.Read(snap); data != "" {
		var u UnitFile
		if json.Unmarshal([]byte(data), &u) == nil {
			return &u, true
		}
	}
	u, ok := h.parseUnit(unit)
	if ok {
		data, _ := json.Marshal(u)
		_ = h.Write(snap, string(data))
	}
	return u, ok
}

// UnitChanged reports whether a loaded unit's files changed on disk since.
func (h *Host) UnitChanged(unit string) bool {
	data := h.Read(filepath.Join(LoadedDir, unit+".json"))
	if data == "" {
		return false
	}
	var loaded UnitFile
	if json.Unmarshal([]byte(data), &loaded) != nil {
		return false
	}
	disk, ok := h.parseUnit(unit)
	return !ok || disk.Digest != loaded.Digest
}

// DaemonReload forgets the loaded units.
func (h *Host) DaemonReload() { _ = h.Remove(LoadedDir) }

// parseUnit parses a unit file and its drop-ins from disk.
func (h *Host) parseUnit(unit string) (*UnitFile, bool) {
	var main string
	for _, d := range unitDirs {
		p := filepath.Join(d, unit)
		if t, err := os.Readlink(h.P(p)); err == nil && t == "/dev/null" {
			continue
		}
		if h.Exists(p) {
			main = p
			break
		}
	}
	if main == "" {
		return nil, false
	}
	u := &UnitFile{Path: main, Env: map[string]string{}}
	files := []string{main}
	var dropins []string
	for _, d := range unitDirs {
		dropins = append(dropins, h.Glob(filepath.Join(d, unit+".d", "*.conf"))...)
	}
	sort.Slice(dropins, func(i, j int) bool { return filepath.Base(dropins[i]) < filepath.Base(dropins[j]) })
	files = append(files, dropins...)
	sum := sha256.New()
	for _, f := range files {
		h.parseUnitInto(u, f)
		data, _ := os.ReadFile(h.P(f))
		fmt.Fprintf(sum, "%s\x00%s\x00", f, data)
	}
	u.Digest = fmt.Sprintf("%x", sum.Sum(nil))
	return u, true
}

func (h *Host) parseUnitInto(u *UnitFile, file string) {
	f, err := os.Open(h.P(file))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") || strings.HasPrefix(line, "[") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "ExecStart":
			u.ExecStart = nil
			if val != "" {
				u.ExecStart = SplitArgs(val)
			}
		case "Environment":
			for _, kv := range SplitArgs(val) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					u.Env[k] = v
				}
			}
		case "EnvironmentFile":
			u.EnvFiles = append(u.EnvFiles, val)
		case "KillMode":
			u.KillMode = val
		case "Type":
			u.Type = val
		case "Restart":
			u.Restart = val
		case "RestartSec":
			if d, err := time.ParseDuration(val); err == nil {
				u.RestartSec = d
			} else if n, err := strconv.Atoi(val); err == nil {
				u.RestartSec = time.Duration(n) * time.Second
			}
		case "Requires":
			u.Requires = append(u.Requires, strings.Fields(val)...)
		case "BindsTo":
			u.BindsTo = append(u.BindsTo, strings.Fields(val)...)
		case "ConditionPathExists":
			u.Conditions = append(u.Conditions, val)
		case "WantedBy":
			u.WantedBy = append(u.WantedBy, strings.Fields(val)...)
		}
	}
}

// failedCondition returns the first ConditionPathExists= that does not
// hold, "" when the unit may start. ("|" triggering conditions are not
// modelled.)
func (h *Host) failedCondition(u *UnitFile) string {
	for _, c := range u.Conditions {
		p, negate := strings.CutPrefix(c, "!")
		if h.Exists(p) == negate {
			return "ConditionPathExists=" + c
		}
	}
	return ""
}

// Command expands ExecStart the way systemd does: $VAR splits on
// whitespace, ${VAR} stays one word.
func (h *Host) Command(u *UnitFile) []string {
	env := map[string]string{}
	for k, v := range u.Env {
		env[k] = v
	}
	for _, ef := range u.EnvFiles {
		for k, v := range h.ReadEnvFile(strings.TrimPrefix(ef, "-")) {
			env[k] = v
		}
	}
	var out []string
	for i, w := range u.ExecStart {
		if i == 0 {
			w = strings.TrimLeft(w, "-@:+!")
		}
		switch {
		case strings.HasPrefix(w, "${") && strings.HasSuffix(w, "}"):
			if v := env[w[2:len(w)-1]]; v != "" {
				out = append(out, v)
			}
		case strings.HasPrefix(w, "$"):
			out = append(out, SplitArgs(env[w[1:]])...)
		default:
			out = append(out, w)
		}
	}
	return out
}

// ReadEnvFile parses a systemd EnvironmentFile (also /etc/sysconfig style).
func (h *Host) ReadEnvFile(p string) map[string]string {
	out := map[string]string{}
	data, err := os.ReadFile(h.P(p))
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		words := SplitArgs(v)
		out[strings.TrimSpace(k)] = strings.Join(words, " ")
		if len(words) == 1 {
			out[strings.TrimSpace(k)] = words[0]
		}
	}
	return out
}

// SplitArgs splits a command line honouring single and double quotes and
// backslash escapes, as systemd and sh do for simple cases.
func SplitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	esc := false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc = true
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
			inWord = true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}
