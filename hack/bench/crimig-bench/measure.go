package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// runTime runs a command several times with its output discarded and prints
// one line: LABEL, the median wall time in seconds and the median peak RSS
// in MiB (getrusage of the child), then every run.
func runTime(args []string) error {
	fs := flag.NewFlagSet("time", flag.ExitOnError)
	runs := fs.Int("runs", 3, "runs; the medians are printed")
	label := fs.String("label", "", "name printed in front of the figures")
	okCodes := fs.String("ok-codes", "0", "exit codes that count as success, comma-separated")
	cmdArgs, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(cmdArgs) == 0 {
		return errors.New("time: no command")
	}
	ok := map[int]bool{}
	for _, c := range strings.Split(*okCodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return fmt.Errorf("--ok-codes: %w", err)
		}
		ok[n] = true
	}
	var walls, rss []float64
	for range *runs {
		cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start).Seconds()
		code := 0
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		} else if err != nil {
			return err
		}
		if !ok[code] {
			return fmt.Errorf("%s exited %d: %s", strings.Join(cmdArgs, " "), code, lastLines(stderr.String(), 5))
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		walls = append(walls, wall)
		rss = append(rss, float64(ru.Maxrss)/1024)
	}
	fmt.Printf("%s\t%.2f\t%.0f\t(runs: wall %s s, RSS %s MiB)\n", *label, median(walls), median(rss), join(walls, "%.2f"), join(rss, "%.0f"))
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func median(xs []float64) float64 {
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func join(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, " ")
}

// runStatus runs COMMAND under a pseudo-terminal (script(1), 200x50) so that
// a TUI really renders, waits for it to settle, then measures its CPU share
// (utime+stime from /proc/PID/stat) over --seconds while idle and again
// while --rate Node status updates a second arrive, and its peak RSS.
func runStatus(args []string) error {
	fs := flag.NewFlagSet("status", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the API server")
	rate := fs.Int("rate", 10, "Node status updates a second during the second window")
	seconds := fs.Int("seconds", 30, "length of each measuring window")
	settle := fs.Int("settle", 10, "seconds to wait after the start before measuring")
	nodes := fs.Int("nodes", 2000, "nodes to update, node-0000..")
	cmdArgs, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(cmdArgs) == 0 {
		return errors.New("status: no command")
	}
	cfg, err := clientConfig(*kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	bin, err := exec.LookPath(cmdArgs[0])
	if err != nil {
		return err
	}
	// The command line reaches the shell of script(1) through the
	// environment, never spliced into the shell text; its arguments are
	// plain words.
	for _, a := range cmdArgs[1:] {
		if !plainWord.MatchString(a) {
			return fmt.Errorf("status: argument %q: only letters, digits and -_=./: are passed through script(1)", a)
		}
	}
	env := append(os.Environ(), "KUBECONFIG="+*kubeconfig, "CRIMIG_BENCH_BIN="+bin,
		"CRIMIG_BENCH_ARGS="+strings.Join(cmdArgs[1:], " "), "TERM=xterm-256color")
	const shell = `set -f; stty rows 50 cols 200; exec "$CRIMIG_BENCH_BIN" $CRIMIG_BENCH_ARGS`
	cmd := exec.Command("script", "-qfec", shell, "/dev/null")
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe() // kept open: script ends at EOF on its input
	if err != nil {
		return err
	}
	defer stdin.Close()
	cmd.Stdout, cmd.Stderr = devNull(), devNull()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	pid, err := findDescendant(cmd.Process.Pid, filepath.Base(bin), 10*time.Second)
	if err != nil {
		return err
	}
	time.Sleep(time.Duration(*settle) * time.Second)
	idle, err := cpuShare(pid, time.Duration(*seconds)*time.Second)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	updates := make(chan int, 1)
	go func() { updates <- churn(ctx, client, *rate, *nodes) }()
	time.Sleep(3 * time.Second)
	busy, err := cpuShare(pid, time.Duration(*seconds)*time.Second)
	cancel()
	sent := <-updates
	if err != nil {
		return err
	}
	hwm, err := procStatusKiB(pid, "VmHWM")
	if err != nil {
		return err
	}
	fmt.Printf("status idle\t%.1f\nstatus %d updates/s\t%.1f\t(%d updates sent)\nstatus peak RSS\t%.0f\n", idle, *rate, busy, sent, float64(hwm)/1024)
	return nil
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_=./:-]+$`)

func devNull() *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		panic(err)
	}
	return f
}

// churn patches the Ready condition's heartbeat of one node after another,
// rate times a second, until ctx ends; it returns how many it sent.
func churn(ctx context.Context, c kubernetes.Interface, rate, nodes int) int {
	t := time.NewTicker(time.Second / time.Duration(rate))
	defer t.Stop()
	sent := 0
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return sent
		case <-t.C:
		}
		patch := fmt.Sprintf(`{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","lastHeartbeatTime":%q}]}}`,
			time.Now().UTC().Format(time.RFC3339))
		name := fmt.Sprintf("node-%04d", i%nodes)
		if _, err := c.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err == nil {
			sent++
		}
	}
}

// findDescendant waits for a process below root whose command is comm.
func findDescendant(root int, comm string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		parents := map[int]int{}
		comms := map[int]string{}
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			s := string(stat)
			open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
			fields := strings.Fields(s[closing+1:])
			if open < 0 || len(fields) < 2 {
				continue
			}
			comms[pid] = s[open+1 : closing]
			parents[pid], _ = strconv.Atoi(fields[1])
		}
		for pid, c := range comms {
			// comm is cut at 15 bytes.
			if !strings.HasPrefix(comm, c) || len(c) < min(len(comm), 15) {
				continue
			}
			for p := parents[pid]; p > 1; p = parents[p] {
				if p == root {
					return pid, nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, fmt.Errorf("no %s process started under script(1) within %s", comm, timeout)
}

// cpuShare returns the percentage of one CPU pid used during d.
func cpuShare(pid int, d time.Duration) (float64, error) {
	t0, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	time.Sleep(d)
	t1, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	const hz = 100 // USER_HZ on Linux
	return float64(t1-t0) / hz / time.Since(start).Seconds() * 100, nil
}

func cpuTicks(pid int) (int64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("the measured process ended: %w", err)
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the command: state(0) ppid(1) ... utime(11) stime(12).
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + st, nil
}

func procStatusKiB(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", key, pid)
}
