package hostscripts

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestBackupKeepsThePristineCopy(t *testing.T) {
	for name, sh := range shells(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			conf := filepath.Join(dir, "etc", "a.conf")
			odd := filepath.Join(dir, "etc", `we"ird\name.conf`)
			missing := filepath.Join(dir, "etc", "crio", "90-crimig.conf")
			later := filepath.Join(dir, "etc", "later.conf")
			for p, c := range map[string]string{conf: "original\n", odd: "odd\n", later: "later\n"} {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(c), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			run := func(paths ...string) *BackupSummary {
				t.Helper()
				out, err := withEnv(sh("-c", Get(Backup)), "CRIMIG_RUN_ID=r1", "CRIMIG_STATE_DIR="+state,
					"CRIMIG_BACKUP_PATHS="+strings.Join(paths, "\n")+"\n\n").CombinedOutput()
				if err != nil {
					t.Fatalf("backup.sh: %v\n%s", err, out)
				}
				s, err := ParseBackupSummary(out)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			first := run(conf, odd, missing)
			bdir := filepath.Join(state, "r1", "backup")
			want := &BackupSummary{Dir: bdir, Files: []BackupFile{
				{Path: conf, SHA256: sha("original\n"), Mode: "0640"},
				{Path: odd, SHA256: sha("odd\n"), Mode: "0640"},
				{Path: missing, Absent: true},
			}}
			if diff := cmp.Diff(want, first); diff != "" {
				t.Errorf("first backup (-want +got):\n%s", diff)
			}
			copyPath := filepath.Join(bdir, conf)
			if got, _ := os.ReadFile(copyPath); string(got) != "original\n" {
				t.Errorf("backup copy = %q", got)
			}
			if st, err := os.Stat(copyPath); err != nil || st.Mode().Perm() != 0o640 {
				t.Errorf("backup copy mode: %v %v", st, err)
			}

			// The migration changes the files; a resumed run backs up again.
			_ = os.WriteFile(conf, []byte("changed by crimig\n"), 0o644)
			_ = os.MkdirAll(filepath.Dir(missing), 0o755)
			_ = os.WriteFile(missing, []byte("created by crimig\n"), 0o644)
			second := run(conf, odd, missing, later)
			want.Files = append(want.Files, BackupFile{Path: later, SHA256: sha("later\n"), Mode: "0640"})
			if diff := cmp.Diff(want, second); diff != "" {
				t.Errorf("second backup (-want +got):\n%s", diff)
			}
			if got, _ := os.ReadFile(copyPath); string(got) != "original\n" {
				t.Errorf("the second backup overwrote the pristine copy: %q", got)
			}
			manifest, _ := os.ReadFile(filepath.Join(bdir, "manifest.tsv"))
			if n := strings.Count(string(manifest), "\n"); n != 4 {
				t.Errorf("manifest has %d lines, want 4:\n%s", n, manifest)
			}
			if st, _ := os.Stat(filepath.Join(state, "r1")); st.Mode().Perm() != 0o700 {
				t.Errorf("state dir mode = %v, want 0700", st.Mode().Perm())
			}

			out, err := withEnv(sh("-c", Get(Backup)), "CRIMIG_RUN_ID=r1", "CRIMIG_STATE_DIR="+state,
				"CRIMIG_BACKUP_PATHS=etc/relative.conf").CombinedOutput()
			if err == nil || !strings.Contains(string(out), "not an absolute path") {
				t.Errorf("a relative path was accepted: %v %s", err, out)
			}
		})
	}
}

func TestKernelWritesOnceAndApplies(t *testing.T) {
	s := newSimHost(t, "rocky9")
	for _, m := range []string{"overlay", "br_netfilter"} {
		s.mustSh("modprobe -r " + m)
	}
	s.mustSh("sysctl -w net.ipv4.ip_forward=0")
	r, err := ParseKernelResult([]byte(s.mustSh(Get(Kernel))))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/etc/modules-load.d/crimig.conf", "/etc/sysctl.d/99-crimig.conf"}, r.Changed); diff != "" {
		t.Errorf("changed files (-want +got):\n%s", diff)
	}
	mods := s.H.LoadedModules()
	sort.Strings(mods)
	for _, m := range []string{"overlay", "br_netfilter"} {
		if i := sort.SearchStrings(mods, m); i >= len(mods) || mods[i] != m {
			t.Errorf("module %s not loaded: %v", m, mods)
		}
	}
	for _, k := range []string{"net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"} {
		if v, ok := s.H.Sysctl(k); !ok || v != "1" {
			t.Errorf("sysctl %s = %q (exists %v), want 1", k, v, ok)
		}
	}
	conf, _ := s.read("/etc/sysctl.d/99-crimig.conf")
	if !strings.Contains(conf, "net.bridge.bridge-nf-call-ip6tables = 1\n") {
		t.Errorf("99-crimig.conf:\n%s", conf)
	}
	// Again: nothing to write, and still applied.
	r, err = ParseKernelResult([]byte(s.mustSh(Get(Kernel))))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Changed) != 0 {
		t.Errorf("a second run rewrote %v", r.Changed)
	}
	// What was persisted survives a reboot.
	s.H.Reboot(0, 0)
	if v, _ := s.H.Sysctl("net.ipv4.ip_forward"); v != "1" {
		t.Errorf("after a reboot net.ipv4.ip_forward = %q", v)
	}
}

// A kernel upgraded without a reboot has no /lib/modules/$(uname -r): modprobe
// fails even for modules the running kernel has built in or loaded.
func TestKernelSkipsModulesTheKernelHas(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	s.setBuiltinModules("overlay", "br_netfilter")
	s.H.Reboot(0, 0)
	m, err := s.H.Meta()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(s.Root, "usr/lib/modules", m.KernelVersion)); err != nil {
		t.Fatal(err)
	}
	if out, err := s.sh("modprobe overlay"); err == nil {
		t.Fatalf("modprobe worked without /lib/modules/%s: %s", m.KernelVersion, out)
	}
	r, err := ParseKernelResult([]byte(s.mustSh(Get(Kernel))))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"overlay", "br_netfilter"}, r.Present); diff != "" {
		t.Errorf("modules already present (-want +got):\n%s", diff)
	}
	if conf, _ := s.read("/etc/modules-load.d/crimig.conf"); !strings.Contains(conf, "overlay\nbr_netfilter\n") {
		t.Errorf("modules-load.d not persisted:\n%s", conf)
	}
	if v, ok := s.H.Sysctl("net.bridge.bridge-nf-call-iptables"); !ok || v != "1" {
		t.Errorf("net.bridge.bridge-nf-call-iptables = %q (exists %v), want 1", v, ok)
	}
}

func TestReuseFileFindsAnEarlierRunsCopy(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	const data = "bundle bytes\n"
	sum := sha(data)
	size := strconv.Itoa(len(data))
	s.write("/var/lib/crimig/run-1/bundle/cri-o.tar.gz", data, 0o600)
	s.write("/var/lib/crimig/run-0/bundle/cri-o.tar.gz", "other bytes!\n", 0o600) // same size, other content
	reuse := func(dest, want string) *ReuseResult {
		t.Helper()
		r, err := ParseReuseResult([]byte(s.mustSh(Get(ReuseFile), "CRIMIG_DEST="+dest, "CRIMIG_SHA256="+want,
			"CRIMIG_SIZE="+size, "CRIMIG_MODE=0600", "CRIMIG_SEARCH_DIR=/var/lib/crimig")))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	dest := "/var/lib/crimig/run-2/bundle/cri-o.tar.gz"
	if r := reuse(dest, sum); !r.Found || r.From != "/var/lib/crimig/run-1/bundle/cri-o.tar.gz" {
		t.Errorf("earlier copy: %+v", r)
	}
	if got, _ := s.read(dest); got != data {
		t.Errorf("%s = %q, want the earlier copy", dest, got)
	}
	if r := reuse(dest, sum); !r.Found || r.From != dest {
		t.Errorf("destination already in place: %+v", r)
	}
	other := sha("a newer bundle")
	if r := reuse("/var/lib/crimig/run-3/bundle/cri-o.tar.gz", other); r.Found {
		t.Errorf("a file with another sha256 was reused: %+v", r)
	}
	if _, ok := s.read("/var/lib/crimig/run-3/bundle/cri-o.tar.gz"); ok {
		t.Errorf("a destination was written although nothing matched")
	}
}
