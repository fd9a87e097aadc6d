package inspect

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

var update = flag.Bool("update", false, "rewrite golden files")

func node(name, runtime, kubelet string, mut ...func(*corev1.Node)) corev1.Node {
	n := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}, Annotations: map[string]string{}},
		Status: corev1.NodeStatus{
			NodeInfo:    corev1.NodeSystemInfo{ContainerRuntimeVersion: runtime, KubeletVersion: kubelet},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")},
		},
	}
	for _, m := range mut {
		m(&n)
	}
	return n
}

func ctrl(kind, name string) []metav1.OwnerReference {
	t := true
	return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &t}}
}

func pod(ns, name, nodeName string, mut ...func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}},
		Spec:       corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.9"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, m := range mut {
		m(&p)
	}
	return p
}

func hostPath(path string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}})
	}
}

// fixtureCluster is the sandbox's demo cluster in miniature.
func fixtureCluster() *ClusterFacts {
	one := int32(1)
	return &ClusterFacts{
		Nodes: []corev1.Node{
			node("cp-1", "docker://20.10.24", "v1.29.4", func(n *corev1.Node) { n.Labels[LabelControlPlane] = "" }),
			node("node-1", "docker://20.10.24", "v1.23.3"),
			node("node-2", "docker://20.10.24", "v1.29.4", func(n *corev1.Node) { n.Spec.Unschedulable = true }),
			node("node-3", "cri-o://1.29.1", "v1.29.4"),
		},
		Pods: []corev1.Pod{
			pod("shop", "web-abc-1", "node-1", func(p *corev1.Pod) {
				p.OwnerReferences = ctrl("ReplicaSet", "web-abc")
				p.Labels["app"] = "web"
				p.Spec.Containers[0].Image = "nginx:1.25"
			}),
			pod("ci", "builder-x", "node-1", hostPath("/var/run/docker.sock"), func(p *corev1.Pod) { p.OwnerReferences = ctrl("DaemonSet", "builder") }),
			pod("ci", "cleanup-1-abc", "node-1", hostPath("/var/run"), func(p *corev1.Pod) { p.OwnerReferences = ctrl("Job", "cleanup-1") }),
			pod("default", "bare", "node-1", func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DOCKER_HOST", Value: "unix:///var/run/docker.sock"}}
			}),
			pod("logging", "fluentd-x", "node-1", func(p *corev1.Pod) {
				p.OwnerReferences = ctrl("DaemonSet", "fluentd")
				p.Spec.Containers[0].Image = "fluent/fluentd:v1.16"
				p.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "fluentd-config"}}}}}
			}),
			pod("db", "pg-0", "node-2", func(p *corev1.Pod) {
				p.OwnerReferences = ctrl("StatefulSet", "pg")
				p.Labels["app"] = "pg"
				p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("30Gi")}
			}),
		},
		PDBs: []policyv1.PodDisruptionBudget{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg"},
			Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: nil, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pg"}}},
			Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0, ExpectedPods: one, CurrentHealthy: one, DesiredHealthy: one},
		}},
		ReplicaSets: []appsv1.ReplicaSet{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-abc", OwnerReferences: ctrl("Deployment", "web")}}},
		Jobs:        []batchv1.Job{{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "cleanup-1", OwnerReferences: ctrl("CronJob", "cleanup")}}},
		// Between runs a CronJob has no pod: its template must still be checked.
		CronJobs: []batchv1.CronJob{{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "nightly"},
			Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Volumes:    []corev1.Volume{{Name: "run", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/run/"}}}},
				Containers: []corev1.Container{{Name: "c", Image: "quay.io/ops/tool:1"}},
			}}}}}}},
		ConfigMaps: []corev1.ConfigMap{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "logging", Name: "fluentd-config"}, Data: map[string]string{"fluent.conf": "<parse>\n  @type json\n</parse>\n"}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubelet-config-1.23"}, Data: map[string]string{"kubelet": "kind: KubeletConfiguration\n"}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

const secretAuth = "c2VjcmV0LXVzZXI6aHVudGVyMg=="

func fixtureHost() HostResult {
	free := int64(1 << 30)
	return HostResult{Facts: &hostscripts.HostFacts{
		OS:      hostscripts.OSRelease{ID: "centos", VersionID: "7"},
		Systemd: true,
		Docker: hostscripts.DockerFacts{
			Installed:  true,
			DaemonJSON: ptr(`{"registry-mirrors":["https://mirror.corp.example"],"insecure-registries":["registry.corp.example:5000","10.0.0.0/8"],"log-opts":{"max-size":"100m","max-file":"3"},"exec-opts":["native.cgroupdriver=systemd"]}`),
			Registries: []string{"registry.corp.example:5000"},
		},
		Kubelet: hostscripts.KubeletFacts{
			FlagsFiles: map[string]string{"/var/lib/kubelet/kubeadm-flags.env": `KUBELET_KUBEADM_ARGS="--container-runtime=docker --network-plugin=cni --pod-infra-container-image=registry.corp.example:5000/pause:3.6"` + "\n"},
			ConfigYAML: ptr("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n"),
		},
		Cgroup:        hostscripts.CgroupFacts{Version: 1},
		Kernel:        hostscripts.KernelFacts{Modules: map[string]bool{"overlay": true}, Sysctls: map[string]*string{"net.ipv4.ip_forward": ptr("1")}},
		Disk:          hostscripts.DiskFacts{VarLibFreeBytes: &free},
		DockerCallers: []hostscripts.FileLine{{Path: "/etc/cron.d/docker-prune", Line: 2}},
		Runtimes:      hostscripts.RuntimeFacts{Crun: hostscripts.Binary{Installed: true, Version: "1.8.5"}},
	}}
}

func ids(fs []Finding) map[string]Severity {
	out := map[string]Severity{}
	for _, f := range fs {
		out[f.ID+" "+f.Subject] = f.Severity
	}
	return out
}

func TestClusterFindings(t *testing.T) {
	p, err := BuildPlan(fixtureCluster(), nil, Options{Target: hostconf.TargetCRIO})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(p.Findings)
	want := map[string]Severity{
		IDDockerSocket + " DaemonSet/ci/builder":                          Blocker,
		IDRunMount + " CronJob/ops/nightly":                               Warning,
		IDRunMount + " CronJob/ci/cleanup":                                Warning,
		IDDockerHost + " Pod/default/bare":                                Blocker,
		IDShortImageName + " Deployment/shop/web":                         Info,
		IDShortImageName + " DaemonSet/logging/fluentd":                   Info,
		IDLogAgentDockerJSON + " DaemonSet/logging/fluentd":               Warning,
		IDKubeletConfigMap + " ConfigMap kube-system/kubelet-config-1.23": Info,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cluster findings (-want +got):\n%s", diff)
	}
	byNode := map[string]map[string]Severity{}
	for _, n := range p.Nodes {
		byNode[n.Name] = ids(n.Findings)
	}
	checks := []struct {
		node, key string
		sev       Severity
	}{
		{"cp-1", IDControlPlane + " node/cp-1", Warning},
		{"cp-1", IDSingleControlPlane + " node/cp-1", Blocker},
		{"node-1", IDBarePod + " Pod/default/bare", Warning},
		{"node-1", IDEmptyDir + " Pod/default/bare", Warning},
		{"node-2", IDAlreadyCordoned + " node/node-2", Info},
		{"node-2", IDPDBZero + " PodDisruptionBudget/db/pg", Blocker},
		{"node-2", IDCapacity + " node/node-2", Blocker},
		{"node-3", IDNotDocker + " node/node-3", Info},
	}
	for _, c := range checks {
		if got := byNode[c.node][c.key]; got != c.sev {
			t.Errorf("%s: finding %q has severity %q, want %q (have %v)", c.node, c.key, got, c.sev, byNode[c.node])
		}
	}
	// The same budget at 0 only because a replica is not healthy yet (it
	// waits for a node migrated just before): a warning, the drain waits.
	cf := fixtureCluster()
	cf.PDBs[0].Status.CurrentHealthy, cf.PDBs[0].Status.ExpectedPods = 1, 2
	recovering, err := BuildPlan(cf, nil, Options{Target: hostconf.TargetCRIO})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range recovering.Nodes {
		if n.Name != "node-2" {
			continue
		}
		got := ids(n.Findings)
		if got[IDPDBRecovering+" PodDisruptionBudget/db/pg"] != Warning || got[IDPDBZero+" PodDisruptionBudget/db/pg"] != "" {
			t.Errorf("a recovering budget: %v", got)
		}
	}
	if p.Nodes[3].Eligible || len(p.Nodes[3].Steps) != 0 {
		t.Errorf("a CRI-O node must not be planned: %+v", p.Nodes[3])
	}
	if b := p.BlockersFor("node-1", nil); len(b) != 2 {
		t.Errorf("node-1 blockers = %v, want the docker.sock DaemonSet and DOCKER_HOST", b)
	}
	if b := p.BlockersFor("node-1", map[string]bool{IDDockerSocket: true, IDDockerHost: true}); len(b) != 0 {
		t.Errorf("accepted blockers still reported: %v", b)
	}
}

func TestPlanForOneNodeDropsOtherNodesWorkloads(t *testing.T) {
	p, err := BuildPlan(fixtureCluster(), nil, Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Findings {
		if len(f.Nodes) > 0 {
			t.Errorf("workload finding about other nodes kept: %+v", f)
		}
	}
	if _, err := BuildPlan(fixtureCluster(), nil, Options{Target: hostconf.TargetCRIO, Nodes: []string{"nope"}}); err == nil ||
		!strings.Contains(err.Error(), `node "nope" not found`) {
		t.Errorf("unknown node error = %v", err)
	}
}

func TestHostPlanGolden(t *testing.T) {
	hosts := map[string]HostResult{"node-1": fixtureHost()}
	p, err := BuildPlan(fixtureCluster(), hosts, Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-1"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), secretAuth) {
		t.Fatal("plan leaks a registry credential")
	}
	n := ids(p.Nodes[0].Findings)
	for _, want := range []string{IDDiskSpace + " /var/lib", IDDockerCallers + " host scripts", IDCrunTooOld + " crun", IDRegistryAuth + " /root/.docker/config.json", IDKernelSettings + " kernel"} {
		if _, ok := n[want]; !ok {
			t.Errorf("missing host finding %q in %v", want, n)
		}
	}
	if len(p.Nodes[0].Files) == 0 {
		t.Fatal("no files planned")
	}
	golden := filepath.Join("testdata", "plan-node-1.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("plan differs from %s (-want +got):\n%s", golden, diff)
	}
}

func TestHostUnreachableIsABlocker(t *testing.T) {
	hosts := map[string]HostResult{"node-1": {Err: os.ErrDeadlineExceeded}}
	p, err := BuildPlan(fixtureCluster(), hosts, Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(p.Nodes[0].Findings)[IDHostUnreachable+" node/node-1"]; got != Blocker {
		t.Errorf("unreachable host severity %q", got)
	}
}

func TestShortImageNames(t *testing.T) {
	for img, short := range map[string]bool{
		"nginx": true, "nginx:1.25": true, "library/nginx": true, "bitnami/redis:7": true,
		"docker.io/library/nginx": false, "registry.corp.example:5000/app": false, "localhost/app": false,
		"quay.io/coreos/etcd": false, "localhost:5000/app": false,
	} {
		if got := IsShortImageName(img); got != short {
			t.Errorf("IsShortImageName(%q) = %v", img, got)
		}
	}
}

func TestDefaultTargetVersion(t *testing.T) {
	tests := []struct {
		target  hostconf.Target
		kubelet string
		want    string
	}{
		{hostconf.TargetCRIO, "v1.23.3", "1.23"},
		{hostconf.TargetCRIO, "v1.33.1", "1.33"},
		{hostconf.TargetContainerd, "v1.23.3", "1.7"},
		{hostconf.TargetContainerd, "v1.29.0", "2.1"},
		{hostconf.TargetCRIO, "garbage", ""},
	}
	for _, tt := range tests {
		if got := DefaultTargetVersion(tt.target, tt.kubelet); got != tt.want {
			t.Errorf("DefaultTargetVersion(%s, %s) = %q, want %q", tt.target, tt.kubelet, got, tt.want)
		}
	}
}

func TestUnreachableSourceIsABlocker(t *testing.T) {
	r := fixtureHost()
	no := false
	r.Source = &SourceProbe{Reachable: &no, URL: "https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.23/rpm/repodata/repomd.xml", Detail: "curl exit 6"}
	p, err := BuildPlan(fixtureCluster(), map[string]HostResult{"node-1": r}, Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(p.Nodes[0].Findings)[IDSourceUnreachable+" package source"]; got != Blocker {
		t.Errorf("unreachable source severity %q", got)
	}
}

// TestPlanGivesEveryChangeAReason is issue 15's node: kubelet 1.37 on
// cri-dockerd. config.yaml's runtimeRequestTimeout went from 0s to 5m and
// instance-config.yaml appeared with no reason in the plan; every planned
// file and every edit in it must now say why.
func TestPlanGivesEveryChangeAReason(t *testing.T) {
	cf := &ClusterFacts{Nodes: []corev1.Node{node("vm", "docker://20.10.24", "v1.37.2")}}
	r := fixtureHost()
	r.Facts.Docker.DaemonJSON = ptr(`{"log-opts":{"max-size":"50m","max-file":"3"},"insecure-registries":["registry.lab.example:5000"]}`)
	r.Facts.Docker.CriDockerdPauseImage = "registry.lab.example:5000/pause:3.10.1"
	r.Facts.Kubelet.FlagsFiles = map[string]string{hostconf.KubeadmFlagsEnv: `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/cri-dockerd.sock"` + "\n"}
	r.Facts.Kubelet.ConfigYAML = ptr("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nruntimeRequestTimeout: 0s\n")
	p, err := BuildPlan(cf, map[string]HostResult{"vm": r}, Options{Target: hostconf.TargetCRIO})
	if err != nil {
		t.Fatal(err)
	}
	np := p.Nodes[0]
	if len(np.Files) == 0 {
		t.Fatalf("no files planned; findings %v", ids(np.Findings))
	}
	got := map[string]hostconf.Edit{}
	for _, f := range np.Files {
		if f.Reason == "" {
			t.Errorf("%s has no reason", f.Path)
		}
		if f.Changed && len(f.Edits) == 0 {
			t.Errorf("%s changes but lists no edit", f.Path)
		}
		for _, e := range f.Edits {
			if e.Reason == "" {
				t.Errorf("%s: edit %s has no reason", f.Path, e.Key)
			}
			got[f.Path+" "+e.Key] = e
		}
	}
	if e := got[hostconf.KubeletConfigPath+" runtimeRequestTimeout"]; e.Before != "0s" || e.After != "5m" || e.Reason == "" {
		t.Errorf("runtimeRequestTimeout edit = %+v, want 0s -> 5m with a reason", e)
	}
	if e := got[hostconf.InstanceConfigPath+" containerRuntimeEndpoint"]; e.After != hostconf.CrioEndpoint {
		t.Errorf("instance-config.yaml edit = %+v", e)
	}
	b, err := json.Marshal(np.Files)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"reason":"`+strings.ReplaceAll(hostconf.InstanceConfigReason, `"`, `\"`)) {
		t.Errorf("-o json does not carry instance-config.yaml's reason:\n%s", b)
	}
}

// A mirror URL with user-info is shown without it, in the steps and in the
// unreachable-source finding.
func TestPlanRedactsRepoUserinfo(t *testing.T) {
	const secret = "S3CRET"
	r := fixtureHost()
	no := false
	r.Source = &SourceProbe{Reachable: &no, URL: "https://bob:" + secret + "@m.example/repodata/repomd.xml", Detail: "curl exit 6"}
	o := Options{Target: hostconf.TargetCRIO, Nodes: []string{"node-1"}, Source: "repo=https://bob:" + secret + "@m.example/"}
	p, err := BuildPlan(fixtureCluster(), map[string]HostResult{"node-1": r}, o)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(p)
	if strings.Contains(string(out), secret) {
		t.Errorf("the plan holds the password: %s", out)
	}
}

// TestNodeSummaryCountsClusterBlockers: a node whose blockers are cluster
// findings (a DaemonSet pod with docker.sock on it, a CronJob with
// DOCKER_HOST and no pod yet, which may land anywhere) counts them, so its
// blocker count agrees with its verdict and with migrate's preflight.
func TestNodeSummaryCountsClusterBlockers(t *testing.T) {
	cf := fixtureCluster()
	tmpl := &cf.CronJobs[0].Spec.JobTemplate.Spec.Template.Spec
	tmpl.Containers[0].Env = []corev1.EnvVar{{Name: "DOCKER_HOST", Value: "tcp://127.0.0.1:2375"}}
	p, err := BuildPlan(cf, nil, Options{Target: hostconf.TargetCRIO})
	if err != nil {
		t.Fatal(err)
	}
	if hasOwn := hasID(p.Findings, IDDockerHost, "CronJob/ops/nightly"); !hasOwn {
		t.Fatalf("the CronJob's DOCKER_HOST is no cluster finding: %v", ids(p.Findings))
	}
	want := map[string]Summary{
		// builder's docker.sock, bare's DOCKER_HOST and the CronJob's; the
		// CronJobs' /run, fluentd's log format, bare's two; the short names
		// and the kubelet-config ConfigMap, which concerns every node.
		"node-1": {Blockers: 3, Warnings: 5, Infos: 3},
		// the CronJob's DOCKER_HOST, the PDB at 0, capacity.
		"node-2": {Blockers: 3, Warnings: 1, Infos: 2},
		"cp-1":   {Blockers: 2, Warnings: 2, Infos: 1},
		// not docker: no cluster finding concerns it.
		"node-3": {Infos: 1},
	}
	for _, np := range p.Nodes {
		blockers := p.BlockersFor(np.Name, nil)
		if np.Eligible && np.Summary.Blockers != len(blockers) {
			t.Errorf("%s: summary counts %d blockers, BlockersFor finds %d: %v", np.Name, np.Summary.Blockers, len(blockers), ids(blockers))
		}
		if np.Eligible && (np.Verdict == VerdictBlocked) != (np.Summary.Blockers > 0) {
			t.Errorf("%s: verdict %s with %d blockers", np.Name, np.Verdict, np.Summary.Blockers)
		}
		if diff := cmp.Diff(want[np.Name], np.Summary); diff != "" {
			t.Errorf("%s: summary (-want +got):\n%s\nfindings: %v", np.Name, diff, ids(p.FindingsFor(np.Name)))
		}
	}
}

func hasID(fs []Finding, id, subject string) bool {
	for _, f := range fs {
		if f.ID == id && f.Subject == subject {
			return true
		}
	}
	return false
}

// TestAddFindingCountsForNodes: a cluster finding added after BuildPlan
// (CRIMIG070) lands in order and counts for the plan and every node to
// migrate, as one BuildPlan made would.
func TestAddFindingCountsForNodes(t *testing.T) {
	p, err := BuildPlan(fixtureCluster(), nil, Options{Target: hostconf.TargetCRIO})
	if err != nil {
		t.Fatal(err)
	}
	before := p.DeepCopy()
	p.AddFinding(Finding{ID: IDFloatingImage, Severity: Info, Subject: "image busybox:1.36", Message: "m"})
	if p.Summary.Infos != before.Summary.Infos+1 || p.Findings[len(p.Findings)-1].ID != IDFloatingImage {
		t.Errorf("plan summary %+v (was %+v), last finding %s", p.Summary, before.Summary, p.Findings[len(p.Findings)-1].ID)
	}
	for i, np := range p.Nodes {
		want := before.Nodes[i].Summary
		if np.Eligible {
			want.Infos++
		}
		if np.Summary != want {
			t.Errorf("%s: summary %+v, want %+v", np.Name, np.Summary, want)
		}
	}
}

// A finding added after the build takes its place in the order, the counts
// and the verdicts.
func TestAddFinding(t *testing.T) {
	p := &Plan{
		Findings: []Finding{{ID: IDKubeletConfigCM404, Severity: Info}, {ID: IDShortImageName, Severity: Warning}},
		Nodes: []NodePlan{{NodeSummary: NodeSummary{Name: "node-1"}, Eligible: true, Verdict: VerdictReady, Findings: []Finding{{ID: IDAlreadyCordoned, Severity: Info}}},
			{NodeSummary: NodeSummary{Name: "node-2"}, Eligible: true, Verdict: VerdictReady}},
	}
	p.AddFinding(Finding{ID: IDFloatingImage, Severity: Info, Subject: "image busybox:1.36"})
	p.AddFinding(Finding{ID: IDDockerSocket, Severity: Blocker, Subject: "DaemonSet/ci/builder", Nodes: []string{"node-2"}})
	var order []string
	for _, f := range p.Findings {
		order = append(order, f.ID)
	}
	if want := []string{IDDockerSocket, IDShortImageName, IDKubeletConfigCM404, IDFloatingImage}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if want := (Summary{Blockers: 1, Warnings: 1, Infos: 3}); p.Summary != want {
		t.Errorf("summary %+v, want %+v", p.Summary, want)
	}
	if p.Nodes[0].Verdict != VerdictReady || p.Nodes[1].Verdict != VerdictBlocked {
		t.Errorf("verdicts %s, %s; want node-2 blocked by the DaemonSet", p.Nodes[0].Verdict, p.Nodes[1].Verdict)
	}
}
