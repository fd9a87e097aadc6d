package inspect

import (
	"slices"
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

// The bundle's 10-crio.conf makes crun the default, and the facts are read
// before the bundle installs it: crun stays the default only when the CRI-O
// that will run is already there with a crun verified new enough (issue 15).
func TestCrioRuntimeOf(t *testing.T) {
	bin := func(p, v string) hostscripts.Binary { return hostscripts.Binary{Installed: true, Path: p, Version: v} }
	for _, tc := range []struct {
		name  string
		rt    hostscripts.RuntimeFacts
		keep  bool
		paths hostconf.CRIOPaths
		why   string
	}{
		{"crimig installs CRI-O; a distro crun is on the host", hostscripts.RuntimeFacts{Crun: bin("/usr/bin/crun", "1.8.1")},
			false, hostconf.CRIOPaths{}, "cannot be checked before CRI-O is installed"},
		{"CRI-O present with its own crun", hostscripts.RuntimeFacts{Crio: bin("/usr/local/bin/crio", "1.36.3"),
			Crun: bin("/usr/libexec/crio/crun", "1.26"), Runc: bin("/usr/libexec/crio/runc", "1.4.2"), Conmon: bin("/usr/libexec/crio/conmon", "2.2.1")},
			true, hostconf.CRIOPaths{Conmon: "/usr/libexec/crio/conmon", Runc: "/usr/libexec/crio/runc"}, ""},
		{"CRI-O present with an old crun", hostscripts.RuntimeFacts{Crio: bin("/usr/bin/crio", "1.36.0"),
			Crun: bin("/usr/bin/crun", "1.8.1"), Runc: bin("/usr/bin/runc", "1.1.5"), Conmon: bin("/usr/bin/conmon", "2.1.6")},
			false, hostconf.CRIOPaths{Conmon: "/usr/bin/conmon", Runc: "/usr/bin/runc"}, "older than 1.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := crioRuntimeOf(&hostscripts.HostFacts{Runtimes: tc.rt})
			if c.keepCrun != tc.keep || c.paths != tc.paths || !strings.Contains(c.why, tc.why) || (tc.why == "") != (c.why == "") {
				t.Errorf("got %+v; want keepCrun %v, paths %+v, why %q", c, tc.keep, tc.paths, tc.why)
			}
		})
	}
}

// A kubelet 1.37 has no --pod-infra-container-image: on a cri-dockerd node
// the pause image is cri-dockerd's, the only one an air-gapped node has. The
// runtime must get it, the plan show it, --carry-images carry it (issue 15).
func TestPauseImageFromCriDockerd(t *testing.T) {
	const pause = "registry.lab.example:5000/pause:3.10"
	h := fixtureHost()
	h.Facts.Docker.CriDockerdPauseImage = pause
	h.Facts.Kubelet.FlagsFiles = map[string]string{"/var/lib/kubelet/kubeadm-flags.env": "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/cri-dockerd.sock\"\n"}
	for _, target := range []hostconf.Target{hostconf.TargetCRIO, hostconf.TargetContainerd} {
		cf := fixtureCluster()
		for i := range cf.Nodes {
			cf.Nodes[i].Status.NodeInfo.KubeletVersion = "v1.37.2"
		}
		p, err := BuildPlan(cf, map[string]HostResult{"node-1": h}, Options{Target: target, Nodes: []string{"node-1"}})
		if err != nil {
			t.Fatal(err)
		}
		np := p.Nodes[0]
		if np.Changes == nil || np.Changes.PauseImage != pause {
			t.Fatalf("%s: pause image %v; want %s", target, np.Changes, pause)
		}
		found := false
		for _, f := range np.Files {
			found = found || strings.Contains(f.Content, `"`+pause+`"`)
		}
		if !found || !slices.Contains(np.Images, pause) {
			t.Errorf("%s: the runtime's config or the images to carry lack %s: images %v", target, pause, np.Images)
		}
		if _, ok := ids(np.Findings)[IDPauseImage+" pause image "+pause]; !ok {
			t.Errorf("%s: no %s finding in %v", target, IDPauseImage, ids(np.Findings))
		}
	}
}

// With --source bundle=FILE the runtime version is the bundle's, not the
// one the kubelet's minor would pick (issue 15).
func TestBundleVersionIsTheTarget(t *testing.T) {
	for _, tc := range []struct {
		target      hostconf.Target
		file, want  string
		wantInStep  string
		kubeletVers string
	}{
		{hostconf.TargetCRIO, "/home/op/cri-o.amd64.v1.36.3.tar.gz", "1.36.3", "install cri-o 1.36.3 from bundle=", "v1.37.2"},
		{hostconf.TargetContainerd, "containerd-2.1.4-linux-amd64.tar.gz", "2.1.4", "install containerd 2.1.4 from bundle=", "v1.37.2"},
		{hostconf.TargetCRIO, "crio-offline.tar.gz", "1.37", "install cri-o 1.37 from bundle=", "v1.37.2"},
	} {
		cf := fixtureCluster()
		for i := range cf.Nodes {
			cf.Nodes[i].Status.NodeInfo.KubeletVersion = tc.kubeletVers
		}
		p, err := BuildPlan(cf, nil, Options{Target: tc.target, Nodes: []string{"node-1"}, Source: "bundle=" + tc.file})
		if err != nil {
			t.Fatal(err)
		}
		np := p.Nodes[0]
		var install string
		for _, s := range np.Steps {
			if s.Name == StepInstall {
				install = s.Description
			}
		}
		if np.TargetVersion != tc.want || !strings.Contains(install, tc.wantInStep) {
			t.Errorf("%s: target version %q, install step %q; want %s, %q", tc.file, np.TargetVersion, install, tc.want, tc.wantInStep)
		}
	}
}
