package hostscripts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shells are the /bin/sh flavours a host may have. busybox runs with a PATH
// holding only busybox applets, so its awk, sed and grep are exercised too.
func shells(t *testing.T) map[string]func(args ...string) *exec.Cmd {
	t.Helper()
	out := map[string]func(args ...string) *exec.Cmd{}
	if dash, err := exec.LookPath("dash"); err == nil {
		out["dash"] = func(args ...string) *exec.Cmd {
			cmd := exec.Command(dash, args...)
			cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
			return cmd
		}
	}
	if bb, err := exec.LookPath("busybox"); err == nil {
		bin := busyboxBin(t, bb)
		out["busybox"] = func(args ...string) *exec.Cmd {
			cmd := exec.Command(bb, append([]string{"sh"}, args...)...)
			cmd.Env = []string{"PATH=" + bin, "LC_ALL=C"}
			return cmd
		}
	}
	if len(out) == 0 {
		t.Fatal("neither dash nor busybox is installed")
	}
	return out
}

func busyboxBin(t *testing.T, bb string) string {
	t.Helper()
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	dir := t.TempDir()
	for _, applet := range strings.Fields(string(list)) {
		if err := os.Symlink(bb, filepath.Join(dir, applet)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func withEnv(cmd *exec.Cmd, kv ...string) *exec.Cmd {
	cmd.Env = append(cmd.Env, kv...)
	return cmd
}

// scriptNames lists every embedded script, whether or not the product
// names it.
func scriptNames(t *testing.T) []string {
	t.Helper()
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestScriptsPassShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatal("shellcheck is not installed (apt-get install -y shellcheck)")
	}
	dir := t.TempDir()
	var paths []string
	for _, name := range scriptNames(t) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(Get(name)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(sc, append([]string{"-s", "sh", "-x"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck found problems:\n%s", out)
	}
}

// Some scripts carry the same shell function: each runs alone on the host,
// so it cannot source a shared file. Each such block is kept identical to
// its first copy, and the scripts that need it have it.
func TestSharedShellBlocksAreTheSameEverywhere(t *testing.T) {
	for _, c := range []struct {
		begin, end string
		from       string
		in         []string
	}{
		{"# --- json escaper", "# --- end of json escaper ---", JournalLib, []string{Backup, Facts}},
		{"# --- ensure_file", "# --- end of ensure_file ---", Install, []string{Kernel}},
	} {
		block := func(name string) string {
			s := Get(name)
			i, j := strings.Index(s, c.begin), strings.Index(s, c.end)
			if i < 0 || j < i {
				return ""
			}
			return s[i:j]
		}
		want := block(c.from)
		if want == "" {
			t.Fatalf("%s has no %q block", c.from, c.begin)
		}
		var with []string
		for _, name := range scriptNames(t) {
			if got := block(name); got != "" {
				with = append(with, name)
				if got != want {
					t.Errorf("the %q block in %s differs from %s's; keep them identical", c.begin, name, c.from)
				}
			}
		}
		for _, name := range c.in {
			if !slices.Contains(with, name) {
				t.Errorf("%s has no %q block", name, c.begin)
			}
		}
	}
}

func TestGetUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Get of an unknown script did not panic")
		}
	}()
	Get("nope.sh")
}

func TestExecWrapper(t *testing.T) {
	for name, sh := range shells(t) {
		t.Run(name, func(t *testing.T) {
			script := `printf '%s|%s' "$GREETING" "$QUOTE"; echo err >&2; exit 7`
			cmd := sh("-c", Get(ExecWrapper), "crimig-exec", "n0nce", script,
				"GREETING=hello world", `QUOTE=it's "$(rm -rf /)"; exit 1`)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("wrapper failed: %v\n%s", err, stderr.String())
			}
			want := "hello world|it's \"$(rm -rf /)\"; exit 1\n__CRIMIG_EXIT__ n0nce 7\n"
			if stdout.String() != want {
				t.Errorf("stdout = %q, want %q", stdout.String(), want)
			}
			if stderr.String() != "err\n" {
				t.Errorf("stderr = %q", stderr.String())
			}
		})
	}
}

func TestUpload(t *testing.T) {
	data := bytes.Repeat([]byte("crimig\x00\n'\"bundle"), 50_000)
	sum := sha256.Sum256(data)
	good := append(append([]byte{}, data...), hex.EncodeToString(sum[:])...)
	bad := append(append([]byte{}, data...), strings.Repeat("0", 64)...)
	for name, sh := range shells(t) {
		t.Run(name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "sub", "bundle.tar.gz")
			run := func(stdin []byte) (string, error) {
				cmd := withEnv(sh("-c", Get(Upload)), "CRIMIG_DEST="+dest,
					"CRIMIG_SIZE="+strconv.Itoa(len(data)), "CRIMIG_MODE=0600")
				// Bytes after the checksum must not be read: the script ends by length.
				cmd.Stdin = bytes.NewReader(append(stdin, "TRAILING"...))
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			if out, err := run(bad); err == nil || !strings.Contains(out, "checksum mismatch") {
				t.Fatalf("bad checksum: err=%v out=%s", err, out)
			}
			if _, err := os.Stat(dest); !os.IsNotExist(err) {
				t.Fatalf("a failed upload left %s behind", dest)
			}
			if out, err := run(good); err != nil {
				t.Fatalf("upload failed: %v\n%s", err, out)
			}
			got, err := os.ReadFile(dest)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("uploaded content differs (err=%v, %d bytes)", err, len(got))
			}
			if st, _ := os.Stat(dest); st.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want 0600", st.Mode().Perm())
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), "*crimig-upload*"))
			if len(left) > 0 {
				t.Errorf("temp files left behind: %v", left)
			}
		})
	}
}

func TestDetachedJobWritesJournal(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("this machine runs systemd; detach.sh would start a real unit")
	}
	for name, sh := range shells(t) {
		t.Run(name, func(t *testing.T) {
			state := t.TempDir()
			cg := t.TempDir()
			if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			job := `crimig_journal stop-docker begin "it's \"quoted\""
echo "$SECRET_FREE_VALUE" > "$CRIMIG_STATE_DIR/out"
crimig_journal stop-docker done
exit 3`
			// Through the exec wrapper, as nodeexec runs it: the job waits for the wrapper to end.
			cmd := withEnv(sh("-c", Get(ExecWrapper), "crimig-exec", "N", Get(Detach),
				"CRIMIG_RUN_ID=r1", "CRIMIG_JOB=swap", "CRIMIG_JOB_SCRIPT="+job,
				"CRIMIG_JOB_LIB="+Get(JournalLib), "CRIMIG_JOB_RUNNER="+Get(JobRunner),
				"CRIMIG_JOB_ENV=SECRET_FREE_VALUE CRIMIG_STATE_DIR", "SECRET_FREE_VALUE=a 'b' $c",
				"CRIMIG_STATE_DIR="+state, "CRIMIG_CGROUP_ROOT="+cg))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("detach failed: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), `"mode":"setsid"`) || !strings.HasSuffix(string(out), "__CRIMIG_EXIT__ N 0\n") {
				t.Errorf("detach output = %s", out)
			}
			journal := waitForExit(t, sh, state)
			for _, want := range []string{`"phase":"started"`, `"step":"stop-docker","phase":"begin","message":"it's \"quoted\""`,
				`"phase":"done"`, `"phase":"exited","exitCode":3`} {
				if !strings.Contains(journal, want) {
					t.Errorf("journal lacks %s:\n%s", want, journal)
				}
			}
			if got, _ := os.ReadFile(filepath.Join(state, "out")); string(got) != "a 'b' $c\n" {
				t.Errorf("job saw SECRET_FREE_VALUE=%q", got)
			}
		})
	}
}

// waitForExit reads the journal through journal-read.sh until the job exited.
func waitForExit(t *testing.T, sh func(...string) *exec.Cmd, state string) string {
	t.Helper()
	for i := 0; i < 400; i++ {
		cmd := withEnv(sh("-c", Get(JournalRead)), "CRIMIG_RUN_ID=r1", "CRIMIG_JOB=swap", "CRIMIG_STATE_DIR="+state)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("journal-read: %v", err)
		}
		if !strings.HasPrefix(string(out), `{"job":"swap","started":`) {
			t.Fatalf("journal-read did not start with the status line: %s", out)
		}
		if strings.Contains(string(out), `"phase":"exited"`) {
			if !strings.Contains(string(out), `"alive":false`) && !strings.Contains(string(out), `"alive":true`) {
				t.Errorf("no alive field: %s", out)
			}
			return string(out)
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("the detached job did not finish within 10s")
	return ""
}
