package inspect

import (
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

func TestDataRootCheck(t *testing.T) {
	moved := []byte(`{"data-root": "/data/docker"}`)
	ok := hostscripts.DockerFacts{RootDir: "/data/docker", RootDirExists: true, SiblingStorage: "absent"}
	with := func(change func(*hostscripts.DockerFacts)) hostscripts.DockerFacts {
		d := ok
		change(&d)
		return d
	}
	for _, tc := range []struct {
		name   string
		docker hostscripts.DockerFacts
		daemon []byte
		target hostconf.Target
		ok     bool
		why    string
	}{
		{"moved, nothing in the way", ok, moved, hostconf.TargetCRIO, true, ""},
		{"an earlier CRI-O store is reused", with(func(d *hostscripts.DockerFacts) { d.SiblingStorage = "containers-storage" }), moved, hostconf.TargetCRIO, true, ""},
		{"an empty directory is used", with(func(d *hostscripts.DockerFacts) { d.SiblingStorage = "empty" }), moved, hostconf.TargetCRIO, true, ""},
		{"not moved", ok, []byte(`{"data-root": "/var/lib/docker/"}`), hostconf.TargetCRIO, false, ""},
		{"no daemon.json", ok, nil, hostconf.TargetCRIO, false, ""},
		{"the graph alias", ok, []byte(`{"graph": "/data/docker"}`), hostconf.TargetCRIO, true, ""},
		{"containerd keeps its root", ok, moved, hostconf.TargetContainerd, false, "docker's own containerd"},
		{"docker not running", with(func(d *hostscripts.DockerFacts) { d.RootDir = "" }), moved, hostconf.TargetCRIO, false, "did not report"},
		{"daemon.json changed since docker started", with(func(d *hostscripts.DockerFacts) { d.RootDir = "/var/lib/docker" }), moved, hostconf.TargetCRIO, false,
			"the running docker uses /var/lib/docker, not daemon.json's /data/docker"},
		{"missing directory", with(func(d *hostscripts.DockerFacts) { d.RootDirExists = false }), moved, hostconf.TargetCRIO, false, "/data/docker does not exist"},
		{"parent is /", with(func(d *hostscripts.DockerFacts) { d.RootDir = "/docker" }), []byte(`{"data-root": "/docker"}`), hostconf.TargetCRIO, false, "its parent is /"},
		{"other data in the way", with(func(d *hostscripts.DockerFacts) { d.SiblingStorage = "other" }), moved, hostconf.TargetCRIO, false,
			"/data/containers/storage holds other data"},
		{"old facts script", with(func(d *hostscripts.DockerFacts) { d.SiblingStorage = "" }), moved, hostconf.TargetCRIO, false, "is unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := dataRootCheck(tc.docker, tc.daemon, tc.target)
			if ok != tc.ok || (tc.why == "" && why != "") || !strings.Contains(why, tc.why) {
				t.Errorf("dataRootCheck = %v, %q; want %v, %q", ok, why, tc.ok, tc.why)
			}
		})
	}
}

// The plan of a node whose data-root moved puts CRI-O's storage next to it,
// or says why not.
func TestPlanFollowsAMovedDataRoot(t *testing.T) {
	daemon := `{"data-root": "/data/docker", "exec-opts": ["native.cgroupdriver=systemd"]}`
	config := "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n"
	facts := func(sibling string) *hostscripts.HostFacts {
		return &hostscripts.HostFacts{
			Docker: hostscripts.DockerFacts{Installed: true, Active: "active", DaemonJSON: &daemon,
				RootDir: "/data/docker", RootDirExists: true, SiblingStorage: sibling},
			Kubelet: hostscripts.KubeletFacts{FlagsFiles: map[string]string{}, ConfigYAML: &config},
			Cgroup:  hostscripts.CgroupFacts{Version: 2},
		}
	}
	for _, tc := range []struct{ sibling, wantRoot, wantLoss string }{
		{"absent", `root = "/data/containers/storage"`, ""},
		{"other", "", "/data/containers/storage holds other data"},
	} {
		np := &NodePlan{NodeSummary: NodeSummary{Name: "n", KubeletVersion: "v1.29.6"}, TargetVersion: "1.29"}
		np.addTranslation(HostResult{Facts: facts(tc.sibling)}, hostconf.TargetCRIO)
		if np.Changes == nil {
			t.Fatalf("%s: no translation; findings %+v", tc.sibling, np.Findings)
		}
		var dropIn string
		for _, f := range np.Files {
			if f.Path == "/etc/crio/crio.conf.d/90-crimig.conf" {
				dropIn = f.Content
			}
		}
		if got := strings.Contains(dropIn, "\nroot = "); got != (tc.wantRoot != "") || !strings.Contains(dropIn, tc.wantRoot) {
			t.Errorf("%s: drop-in:\n%s", tc.sibling, dropIn)
		}
		if np.Changes.ImageStoreRoot != strings.TrimSuffix(strings.TrimPrefix(tc.wantRoot, `root = "`), `"`) {
			t.Errorf("%s: imageStoreRoot %q", tc.sibling, np.Changes.ImageStoreRoot)
		}
		var loss string
		for _, f := range np.Findings {
			if strings.Contains(f.Subject, "data-root") {
				loss = f.Message
			}
		}
		if (tc.wantLoss == "") != (loss == "") || !strings.Contains(loss, tc.wantLoss) {
			t.Errorf("%s: data-root finding %q, want %q", tc.sibling, loss, tc.wantLoss)
		}
	}
}
