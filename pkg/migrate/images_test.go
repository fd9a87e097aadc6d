package migrate

import (
	"context"
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// carryHost answers carry-images.sh and names its node pod image.
type carryHost struct {
	*fakeHost
	env  map[string]string
	exit int
}

func (h *carryHost) Image() string { return "registry.corp.example/crimig/busybox:1.36" }

func (h *carryHost) Run(ctx context.Context, node, script string, env map[string]string) (nodeexec.Result, error) {
	if script != hostscripts.Get(hostscripts.CarryImages) {
		return h.fakeHost.Run(ctx, node, script, env)
	}
	h.record("run " + hostscripts.CarryImages)
	h.env = env
	if h.exit != 0 {
		return nodeexec.Result{ExitCode: h.exit, Stderr: []byte("carry-images: podman is not installed\n")}, nil
	}
	return nodeexec.Result{Stdout: []byte(`{"carried":["quay.io/prometheus/node-exporter:v1.8.2","registry.k8s.io/pause:3.6"],"present":["busybox:1.36"],"missing":["quay.io/gone:1"]}` + "\n")}, nil
}

func carryEvents(events []Event) []string {
	var out []string
	for _, ev := range events {
		if ev.Step == inspect.StepCarryImages {
			out = append(out, string(ev.Phase)+" "+ev.Message+ev.Err)
		}
	}
	return out
}

func TestCarryImagesOnlyWhenAsked(t *testing.T) {
	e, host, events := newTestEngine(t)
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range host.calls {
		if strings.Contains(c, "other") {
			t.Errorf("a script ran without --carry-images: %v", host.calls)
		}
	}
	got := carryEvents(*events)
	if len(got) != 3 || !strings.HasPrefix(got[1], "skipped ") {
		t.Errorf("carry-images events without the flag: %q", got)
	}
}

func TestCarryImages(t *testing.T) {
	e, host, events := newTestEngine(t)
	ch := &carryHost{fakeHost: host}
	e.Host = ch
	e.Options.CarryImages = true
	plan := e.Preflight
	e.Preflight = func(ctx context.Context, node string) (*inspect.Plan, error) {
		p, err := plan(ctx, node)
		if err == nil {
			p.Nodes[0].Images = []string{"quay.io/prometheus/node-exporter:v1.8.2", "registry.k8s.io/pause:3.6"}
		}
		return p, err
	}
	if err := e.Migrate(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	if want := "run backup.sh,run kernel.sh,run install.sh,run carry-images.sh,detach swap mode=swap"; strings.Join(host.calls, ",") != want {
		t.Errorf("host calls %v, want %s", host.calls, want)
	}
	// The plan's images and the node pods' image.
	want := "quay.io/prometheus/node-exporter:v1.8.2\nregistry.corp.example/crimig/busybox:1.36\nregistry.k8s.io/pause:3.6"
	if got := ch.env["CRIMIG_IMAGES"]; got != want {
		t.Errorf("CRIMIG_IMAGES = %q, want %q", got, want)
	}
	if ch.env["CRIMIG_TARGET"] != "cri-o" || ch.env["CRIMIG_RUN_ID"] != "run-1" {
		t.Errorf("env %v", ch.env)
	}
	got := carryEvents(*events)
	if len(got) != 3 || got[1] != "info 2 image(s) copied from docker into the cri-o image store, 1 already there; 1 not in docker's store, the node must pull them: quay.io/gone:1" {
		t.Errorf("carry-images events: %q", got)
	}
}

func TestCarryImagesFailureStopsBeforeTheSwap(t *testing.T) {
	e, host, _ := newTestEngine(t)
	ch := &carryHost{fakeHost: host, exit: 1}
	e.Host = ch
	e.Options.CarryImages = true
	err := e.Migrate(context.Background(), "node-1")
	if err == nil || !strings.Contains(err.Error(), "step carry-images: carry-images.sh exited 1: carry-images: podman is not installed") {
		t.Fatalf("err = %v", err)
	}
	for _, c := range host.calls {
		if strings.HasPrefix(c, "detach") {
			t.Errorf("the swap ran after a failed carry: %v", host.calls)
		}
	}
	if _, st := nodeState(t, e); st.Phase != StateFailed || st.Step != inspect.StepInstall {
		t.Errorf("state %+v", st)
	}
}

func TestImagesToCarryIncludeCrimigsOwn(t *testing.T) {
	e, host, _ := newTestEngine(t)
	e.Options.SmokeImage = "busybox:1.36"
	r := &run{e: e}
	np := &inspect.NodePlan{Images: []string{"registry.k8s.io/pause:3.9", "busybox:1.36"}}
	if got := strings.Join(r.imagesToCarry(np), " "); got != "busybox:1.36 registry.k8s.io/pause:3.9" {
		t.Errorf("with a plain HostOps: %s", got)
	}
	e.Host = &carryHost{fakeHost: host}
	if got := strings.Join(r.imagesToCarry(np), " "); got != "busybox:1.36 registry.corp.example/crimig/busybox:1.36 registry.k8s.io/pause:3.9" {
		t.Errorf("with the node pods' image: %s", got)
	}
}
