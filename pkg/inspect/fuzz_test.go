package inspect

import (
	"strings"
	"testing"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

// The host files the facts hand the plan, in fuzz argument order.
var fuzzHostFiles = []string{"/etc/docker/daemon.json", hostconf.KubeadmFlagsEnv, "/etc/default/kubelet",
	"/etc/sysconfig/kubelet", hostconf.KubeletConfigPath}

// FuzzPlanHostFiles runs malformed host files (daemon.json, the kubelet's
// flags files, config.yaml, cri-dockerd's pause image) through the facts
// and translation path: BuildPlan must not panic, and a file it cannot
// translate is a blocker finding that names the file, so that migrate
// changes nothing on that host. The seed corpus is in
// testdata/fuzz/FuzzPlanHostFiles.
func FuzzPlanHostFiles(f *testing.F) {
	h := fixtureHost().Facts
	f.Add(*h.Docker.DaemonJSON, h.Kubelet.FlagsFiles[hostconf.KubeadmFlagsEnv], "", "", *h.Kubelet.ConfigYAML, "", "v1.23.3")
	f.Fuzz(func(t *testing.T, daemon, kubeadmFlags, defaultKubelet, sysconfigKubelet, config, pause, kubelet string) {
		r := fixtureHost()
		d, c := &r.Facts.Docker, &r.Facts.Kubelet
		d.DaemonJSON, c.ConfigYAML, d.CriDockerdPauseImage = &daemon, &config, pause
		c.FlagsFiles = map[string]string{}
		for i, content := range []string{kubeadmFlags, defaultKubelet, sysconfigKubelet} {
			if content != "" {
				c.FlagsFiles[fuzzHostFiles[i+1]] = content
			}
		}
		cf := fixtureCluster()
		cf.Nodes[1].Status.NodeInfo.KubeletVersion = kubelet
		p, err := BuildPlan(cf, map[string]HostResult{"node-1": r}, Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-1"}})
		if err != nil || len(p.Nodes) != 1 {
			return
		}
		np := p.Nodes[0]
		for _, fd := range np.Findings {
			if fd.ID == IDTranslateFailed && !namesAHostFile(fd.Message) && !strings.Contains(fd.Message, "kubelet version") {
				t.Errorf("finding names no file: %s", fd.Message)
			}
			if fd.ID == IDTranslateFailed && (np.Changes != nil || len(np.Files) > 0 || np.Verdict != VerdictBlocked) {
				t.Errorf("an untranslatable host still gets files: %+v", np.Files)
			}
		}
	})
}

func namesAHostFile(msg string) bool {
	for _, f := range append(fuzzHostFiles, "daemon.json", "config.yaml") {
		if strings.Contains(msg, f) {
			return true
		}
	}
	return false
}
