package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// groupLabel marks the nodes of one test, so that its DaemonSets and
// Deployments stay on them.
const groupLabel = "e2e.crimig.io/group"

// applyFixtureWorkloads applies test/fixtures/workloads into namespace ns
// instead of "shop": every bare pod once per node (named <pod>-<fixture>,
// bound with nodeName), the controllers restricted to the nodes labelled
// groupLabel=group, the CronJob suspended. It waits until the pods are Ready.
func applyFixtureWorkloads(t *testing.T, ns, group string, nodes []*SimNode) {
	t.Helper()
	dir := filepath.Join(RepoRoot(), "test", "fixtures", "workloads")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workload fixtures in %s: %v", dir, err)
	}
	sel := map[string]any{groupLabel: group}
	var docs []string
	pods := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if obj == nil {
				continue
			}
			meta := obj["metadata"].(map[string]any)
			switch obj["kind"] {
			case "Namespace":
				continue
			case "Pod":
				for _, n := range nodes {
					var cp map[string]any
					b, _ := json.Marshal(obj)
					_ = json.Unmarshal(b, &cp)
					m := cp["metadata"].(map[string]any)
					m["namespace"], m["name"] = ns, fmt.Sprint(meta["name"], "-", n.Fixture)
					cp["spec"].(map[string]any)["nodeName"] = n.Name
					b, _ = json.Marshal(cp)
					docs = append(docs, string(b))
					pods++
				}
				continue
			case "Deployment", "DaemonSet":
				spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
				spec["nodeSelector"] = sel
				if obj["kind"] == "Deployment" {
					pods += int(obj["spec"].(map[string]any)["replicas"].(float64))
				} else {
					pods += len(nodes)
				}
			case "CronJob":
				spec := obj["spec"].(map[string]any)
				spec["suspend"] = true
				spec["jobTemplate"].(map[string]any)["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["nodeSelector"] = sel
			}
			meta["namespace"] = ns
			b, _ := json.Marshal(obj)
			docs = append(docs, string(b))
		}
	}
	path := filepath.Join(t.TempDir(), "workloads.json")
	list := `{"apiVersion":"v1","kind":"List","items":[` + strings.Join(docs, ",") + `]}`
	if err := os.WriteFile(path, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	Kubectl(t, "apply", "-f", path)
	cs := Clientset(t)
	WaitFor(t, workloadsTimeout, func() (bool, error) { return namespaceReady(cs, ns, pods) })
}

// labelNodes sets groupLabel=group on the nodes.
func labelNodes(t *testing.T, group string, nodes []*SimNode) {
	t.Helper()
	cs := Clientset(t)
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, groupLabel, group)
	for _, n := range nodes {
		if _, err := cs.CoreV1().Nodes().Patch(context.Background(), n.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// fixtureSecrets are the credentials in every fixture's
// /root/.docker/config.json, base64 and decoded; no output may hold them.
func fixtureSecrets(t *testing.T, n *SimNode) []string {
	t.Helper()
	var cfg struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal([]byte(n.ReadHostFile(t, "/root/.docker/config.json")), &cfg); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range cfg.Auths {
		dec, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			t.Fatal(err)
		}
		_, password, _ := strings.Cut(string(dec), ":")
		out = append(out, a.Auth, string(dec), password)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no credentials to look for", n.Path("/root/.docker/config.json"))
	}
	return out
}

// findingsOf returns the findings that concern node: its own, and the
// cluster-wide ones that list it.
func findingsOf(p *inspect.Plan, node string) []inspect.Finding {
	var out []inspect.Finding
	for _, f := range p.Findings {
		for _, n := range f.Nodes {
			if n == node {
				out = append(out, f)
			}
		}
	}
	for _, np := range p.Nodes {
		if np.Name == node {
			out = append(out, np.Findings...)
		}
	}
	return out
}

// hasFinding finds a finding by ID whose subject and message contain the
// given texts.
func hasFinding(fs []inspect.Finding, id, subject, message string) *inspect.Finding {
	for i := range fs {
		f := &fs[i]
		if f.ID == id && strings.Contains(f.Subject, subject) && strings.Contains(f.Message, message) {
			return f
		}
	}
	return nil
}

func findingIDs(fs []inspect.Finding) string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, fmt.Sprintf("%s(%s %s)", f.ID, f.Severity, f.Subject))
	}
	sort.Strings(ids)
	return strings.Join(ids, " ")
}

// stepOrder lists the plan's core steps in order, marking detached ones;
// steps outside the engine's core list are left out.
func stepOrder(np *inspect.NodePlan) string {
	core := map[string]bool{}
	for _, s := range []string{inspect.StepLock, inspect.StepPreflight, inspect.StepDrain, inspect.StepBackup, inspect.StepKernel,
		inspect.StepInstall, inspect.StepConfigure, inspect.StepSwap, inspect.StepVerify, inspect.StepSmoke, inspect.StepAnnotate, inspect.StepUncordon} {
		core[s] = true
	}
	var out []string
	for _, s := range np.Steps {
		if !core[s.Name] {
			continue
		}
		if s.Detached {
			out = append(out, s.Name+"(detached)")
		} else {
			out = append(out, s.Name)
		}
	}
	return strings.Join(out, " ")
}

// planFile returns the planned file with that path.
func planFile(t *testing.T, np *inspect.NodePlan, path string) inspect.PlanFile {
	t.Helper()
	for _, f := range np.Files {
		if f.Path == path {
			return f
		}
	}
	var paths []string
	for _, f := range np.Files {
		paths = append(paths, f.Path)
	}
	t.Fatalf("node %s: no planned file %s; files: %v", np.Name, path, paths)
	return inspect.PlanFile{}
}

// TestPlan plans three fresh nodes, one per fixture, with the workload
// fixtures running on them, and checks that every planted problem is found,
// the centos7 files are what the seed's steps 5 and 7 produce, no secret is
// printed, and the json and yaml documents are well-formed.
//
// It is not parallel: its CronJob (DOCKER_HOST, no pods) is a blocker for
// every node while it exists, and must not stop the migrate tests.
func TestPlan(t *testing.T) {
	c7 := AddSimNode(t, "centos7", "plan")
	r9 := AddSimNode(t, "rocky9", "plan")
	u22 := AddSimNode(t, "ubuntu22", "plan")
	nodes := []*SimNode{c7, r9, u22}
	secrets := fixtureSecrets(t, c7)
	var outputs []string
	noSecrets := func(what, out string) {
		t.Helper()
		outputs = append(outputs, out)
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s prints a credential from /root/.docker/config.json (%q)", what, s)
			}
		}
	}

	// Before any workload lands on it, a fresh node has no blocker of its
	// own. Other tests' workloads may hold cluster-wide ones (a CronJob
	// template with DOCKER_HOST concerns every node): then, and only then,
	// the node counts them, is blocked, and plan exits 2.
	clean, _, stderr, code := PlanJSON(t, c7.Name, "--no-host")
	np := NodePlanOf(t, clean, c7.Name)
	elsewhere := clean.BlockersFor(c7.Name, nil)
	if np.Summary.Blockers != len(elsewhere) || (len(elsewhere) == 0) != (np.Verdict == inspect.VerdictReady) {
		t.Errorf("plan %s --no-host on a clean node: verdict %s, %d blockers: %s; cluster-wide: %s", c7.Name, np.Verdict, np.Summary.Blockers,
			findingIDs(np.Findings), findingIDs(elsewhere))
	}
	wantCode := 0
	if len(elsewhere) > 0 {
		wantCode = 2
	}
	if code != wantCode {
		t.Errorf("plan --no-host on a clean node exited %d with %d blocker(s) in the summary, want %d\nstderr:\n%s", code, clean.Summary.Blockers, wantCode, stderr)
	}
	if len(np.Files) != 0 || hasFinding(np.Findings, inspect.IDDockerCallers, "", "") != nil {
		t.Errorf("--no-host still read the host: %d files, findings %s", len(np.Files), findingIDs(np.Findings))
	}

	group := uniqueName("plan")
	labelNodes(t, group, nodes)
	ns := NewNamespace(t, "plan")
	applyFixtureWorkloads(t, ns, group, nodes)

	p, raw, stderr, code := PlanJSON(t, c7.Name, r9.Name, u22.Name)
	noSecrets("plan -o json", string(raw)+stderr)
	if code != 2 || p.Summary.Blockers == 0 {
		t.Errorf("plan with docker.sock pods exited %d with %d blockers, want 2 and some", code, p.Summary.Blockers)
	}
	if len(p.Nodes) != 3 {
		t.Fatalf("plan of 3 nodes lists %d", len(p.Nodes))
	}
	validatePlanSchema(t, raw)

	// Cluster-wide: the CronJob template (no pods yet) mounts /var/run and
	// sets DOCKER_HOST.
	cron := "CronJob/" + ns + "/image-prune"
	if hasFinding(p.Findings, inspect.IDRunMount, cron, "/var/run") == nil || hasFinding(p.Findings, inspect.IDDockerHost, cron, "DOCKER_HOST") == nil {
		t.Errorf("CronJob image-prune: want %s and %s; cluster findings: %s", inspect.IDRunMount, inspect.IDDockerHost, findingIDs(p.Findings))
	}

	for _, n := range nodes {
		fs := findingsOf(p, n.Name)
		np := NodePlanOf(t, p, n.Name)
		pod := func(name string) string { return "Pod/" + ns + "/" + name + "-" + n.Fixture }
		want := []struct{ id, subject, message string }{
			{inspect.IDDockerSocket, pod("ci-runner"), "/var/run/docker.sock"},
			{inspect.IDDockerDataMount, "DaemonSet/" + ns + "/fluentd", "/var/lib/docker/containers"},
			{inspect.IDLogAgentDockerJSON, "DaemonSet/" + ns + "/fluentd", "fluentd-config"},
			{inspect.IDShortImageName, pod("legacy-nginx"), "nginx:1.25"},
			{inspect.IDBarePod, pod("debug-shell"), ""},
			{inspect.IDBarePod, pod("ci-runner"), ""},
			{inspect.IDBarePod, pod("cache-warmer"), ""},
			{inspect.IDEmptyDir, pod("cache-warmer"), "scratch"},
			{inspect.IDDockerCallers, "", "/etc/cron.d/docker-prune"},
			{inspect.IDDockerCallers, "", "/usr/local/bin/pull-base-images.sh"},
			{inspect.IDRegistryAuth, "/root/.docker/config.json", "registry.corp.example:5000"},
			{inspect.IDRegistryAuth, "/root/.docker/config.json", "harbor.corp.example"},
			{inspect.IDKubeletFlagsRemoved, "", "--pod-infra-container-image="},
		}
		switch n.Fixture {
		case "centos7":
			want = append(want, struct{ id, subject, message string }{inspect.IDKubeletFlagsRemoved, "", "--network-plugin=cni"},
				struct{ id, subject, message string }{inspect.IDCgroupDriver, "", "cgroupfs"})
		case "rocky9":
			want = append(want, struct{ id, subject, message string }{inspect.IDDaemonJSONLoss, "insecure-registries", "10.20.0.0/16"})
		case "ubuntu22":
			// docker's data-root is /data/docker: CRI-O's storage follows it
			// to /data/containers/storage, so nothing is lost.
			if f := hasFinding(fs, inspect.IDDaemonJSONLoss, "data-root", ""); f != nil {
				t.Errorf("%s: data-root reported as a loss: %s", n.Name, f.Message)
			}
			if dropIn := planFile(t, np, "/etc/crio/crio.conf.d/90-crimig.conf").Content; !strings.Contains(dropIn, "root = \"/data/containers/storage\"") {
				t.Errorf("%s: the CRI-O drop-in does not follow data-root:\n%s", n.Name, dropIn)
			}
		}
		for _, w := range want {
			if hasFinding(fs, w.id, w.subject, w.message) == nil {
				t.Errorf("%s (%s): no %s about %q mentioning %q; findings: %s", n.Name, n.Fixture, w.id, w.subject, w.message, findingIDs(fs))
			}
		}
		if f := hasFinding(fs, inspect.IDDockerSocket, "", ""); f != nil && f.Severity != inspect.Blocker {
			t.Errorf("%s: %s is %s, want blocker", n.Name, f.ID, f.Severity)
		}
		if np.Verdict != inspect.VerdictBlocked {
			t.Errorf("%s: verdict %s with a docker.sock pod, want blocked", n.Name, np.Verdict)
		}
		if got := stepOrder(np); got != "lock preflight drain backup kernel install configure swap(detached) verify smoke-test annotate uncordon" {
			t.Errorf("%s: steps %s", n.Name, got)
		}
		t.Logf("%s (%s): %s", n.Name, n.Fixture, findingIDs(fs))
	}

	// centos7 + kubelet 1.23: the files the seed's steps 5 and 7 produce.
	cp := NodePlanOf(t, p, c7.Name)
	flags := c7.ReadHostFile(t, "/var/lib/kubelet/kubeadm-flags.env")
	pause := regexp.MustCompile(`--pod-infra-container-image=(\S+?)"?(\s|$)`).FindStringSubmatch(flags)
	if pause == nil {
		t.Fatalf("fixture kubeadm-flags.env has no --pod-infra-container-image: %s", flags)
	}
	crio := planFile(t, cp, "/etc/crio/crio.conf.d/90-crimig.conf")
	for _, s := range []string{`pause_image = "` + pause[1] + `"`, `cgroup_manager = "cgroupfs"`, `conmon_cgroup = "pod"`} {
		if !strings.Contains(crio.Content, s) {
			t.Errorf("crio drop-in lacks %s:\n%s", s, crio.Content)
		}
	}
	reg := planFile(t, cp, "/etc/containers/registries.conf.d/90-crimig.conf")
	if !regexp.MustCompile(`location = "registry.corp.example:5000"\s*\ninsecure = true`).MatchString(reg.Content) ||
		!strings.Contains(reg.Content, `unqualified-search-registries = ["docker.io"]`) ||
		!strings.Contains(reg.Content, `location = "mirror.corp.example"`) {
		t.Errorf("registries drop-in lacks the insecure registry, the mirror or the short-name search:\n%s", reg.Content)
	}
	if f := planFile(t, cp, "/etc/systemd/system/crio.service.d/90-crimig.conf"); !strings.Contains(f.Content, "KillMode=process") {
		t.Errorf("crio.service drop-in on a cgroupfs host lacks KillMode=process:\n%s", f.Content)
	}
	kf := planFile(t, cp, "/var/lib/kubelet/kubeadm-flags.env")
	if !strings.Contains(kf.Content, "--container-runtime=remote --container-runtime-endpoint=unix:///var/run/crio/crio.sock") ||
		strings.Contains(kf.Content, "--network-plugin") || strings.Contains(kf.Content, "--pod-infra-container-image") || !kf.Changed {
		t.Errorf("kubeadm-flags.env for kubelet 1.23:\n%s", kf.Content)
	}
	cfg := planFile(t, cp, "/var/lib/kubelet/config.yaml")
	var kc map[string]any
	if err := yaml.Unmarshal([]byte(cfg.Content), &kc); err != nil {
		t.Fatalf("planned config.yaml does not parse: %v", err)
	}
	var daemon struct {
		LogOpts map[string]string `json:"log-opts"`
	}
	if err := json.Unmarshal([]byte(c7.ReadHostFile(t, "/etc/docker/daemon.json")), &daemon); err != nil {
		t.Fatal(err)
	}
	wantSize := strings.TrimSuffix(daemon.LogOpts["max-size"], "m") + "Mi"
	if kc["runtimeRequestTimeout"] != "5m" || kc["containerLogMaxSize"] != wantSize ||
		fmt.Sprint(kc["containerLogMaxFiles"]) != daemon.LogOpts["max-file"] || kc["cgroupDriver"] != "cgroupfs" {
		t.Errorf("config.yaml: runtimeRequestTimeout=%v containerLogMaxSize=%v containerLogMaxFiles=%v cgroupDriver=%v; want 5m, %s, %s, cgroupfs",
			kc["runtimeRequestTimeout"], kc["containerLogMaxSize"], kc["containerLogMaxFiles"], kc["cgroupDriver"], wantSize, daemon.LogOpts["max-file"])
	}
	for _, f := range cp.Files {
		if f.Reason == "" || (f.Changed && len(f.Edits) == 0) {
			t.Errorf("%s: reason %q, %d edits; a change review needs both", f.Path, f.Reason, len(f.Edits))
		}
		for _, e := range f.Edits {
			if e.Reason == "" {
				t.Errorf("%s: edit %s has no reason", f.Path, e.Key)
			}
		}
	}
	if kc["clusterDomain"] != "cluster.local" || kc["staticPodPath"] != "/etc/kubernetes/manifests" {
		t.Errorf("config.yaml lost unrelated fields: %v", kc)
	}

	// -o yaml: the same document.
	out, errOut, code := RunCrimig(t, "plan", c7.Name, "-o", "yaml")
	noSecrets("plan -o yaml", out+errOut)
	var fromYAML inspect.Plan
	if err := yaml.Unmarshal([]byte(out), &fromYAML); err != nil {
		t.Fatalf("plan -o yaml does not parse: %v\n%s", err, out)
	}
	if code != 2 || len(fromYAML.Nodes) != 1 || fromYAML.Nodes[0].Name != c7.Name || len(fromYAML.Nodes[0].Files) != len(cp.Files) ||
		findingIDs(fromYAML.Nodes[0].Findings) != findingIDs(cp.Findings) {
		t.Errorf("plan -o yaml (exit %d) differs from -o json: %+v", code, fromYAML.Nodes)
	}
	jsonOf, _ := yaml.YAMLToJSON([]byte(out))
	validatePlanSchema(t, jsonOf)

	// The table and wide views, for each node: exit 2, the blocker named.
	for _, n := range nodes {
		for _, format := range []string{"table", "wide"} {
			out, errOut, code := RunCrimig(t, "plan", n.Name, "-o", format)
			noSecrets("plan -o "+format, out+errOut)
			if code != 2 || !strings.Contains(out, inspect.IDDockerSocket) || !strings.Contains(out, "Steps on "+n.Name) ||
				!strings.Contains(errOut, "blocker(s) found") {
				t.Errorf("plan %s -o %s exited %d\nstdout:\n%s\nstderr:\n%s", n.Name, format, code, out, errOut)
			}
		}
	}
	if len(outputs) < 8 {
		t.Errorf("only %d outputs checked for secrets", len(outputs))
	}
}

// TestPlanErrors checks the messages of a wrong node name and wrong flags.
func TestPlanErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"plan", "nosuchnode"}, `error: node "nosuchnode" not found`},
		{[]string{"plan", "--to", "bogus"}, `error: --to must be cri-o or containerd, got "bogus"`},
		{[]string{"plan", "-o", "xml"}, `error: unable to match a printer suitable for the output format "xml", allowed formats are: custom-columns,`},
		{[]string{"plan", "-o", "jsonpath={.nodes"}, `error: error parsing jsonpath {.nodes, unclosed action`},
		{[]string{"plan", "--source", "ftp://x"}, `error: --source must be pkgs, repo=URL[,key=FILE] or bundle=FILE`},
		{[]string{"plan", "--bogus-flag"}, `error: unknown flag: --bogus-flag`},
	}
	for _, c := range cases {
		out, errOut, code := RunCrimig(t, c.args...)
		if code != 1 || !strings.HasPrefix(errOut, c.want) && !strings.Contains(errOut, "\n"+c.want) || strings.Count(errOut, "error:") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and stderr starting with %q", c.args, code, errOut, c.want)
		}
		if out != "" {
			t.Errorf("%v printed on stdout: %q", c.args, out)
		}
	}
}

// TestPlanOutputFormats runs kubectl's -o formats against two fresh nodes:
// jsonpath and go-template read the plan document, name and custom-columns
// print a line per node.
func TestPlanOutputFormats(t *testing.T) {
	t.Parallel()
	a := AddSimNode(t, "ubuntu22", "fmt")
	b := AddSimNode(t, "rocky9", "fmt")
	plan := func(args ...string) string {
		t.Helper()
		out, errOut, code := RunCrimig(t, append([]string{"plan", a.Name, b.Name, "--no-host"}, args...)...)
		// Other tests' CronJobs may block every node: exit 2, not 1.
		if code != 0 && code != 2 {
			t.Fatalf("plan %v exited %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
		return out
	}
	// Values that other tests' workloads cannot change (verdicts can).
	p, _, _, _ := PlanJSON(t, a.Name, b.Name, "--no-host")
	na, nb := NodePlanOf(t, p, a.Name), NodePlanOf(t, p, b.Name)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-o", "name"}, "node/" + a.Name + "\nnode/" + b.Name + "\n"},
		{[]string{"-o", "jsonpath={.kind} {.target} {.nodes[*].name}"}, "Plan cri-o " + a.Name + " " + b.Name},
		{[]string{"-o", `go-template={{range .nodes}}{{.name}}:{{.kubeletVersion}} {{end}}`},
			a.Name + ":" + na.KubeletVersion + " " + b.Name + ":" + nb.KubeletVersion + " "},
	}
	for _, c := range cases {
		if got := plan(c.args...); got != c.want {
			t.Errorf("plan %v:\n%q\nwant:\n%q", c.args, got, c.want)
		}
	}
	cols := plan("-o", "custom-columns=NODE:.name,RUNTIME:.runtime,TARGET:.targetVersion")
	want := fmt.Sprintf("NODE RUNTIME TARGET\n%s docker %s\n%s docker %s", a.Name, na.TargetVersion, b.Name, nb.TargetVersion)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(cols), "\n") {
		got = append(got, strings.Join(strings.Fields(line), " "))
	}
	if strings.Join(got, "\n") != want || na.TargetVersion == "" {
		t.Errorf("plan -o custom-columns:\n%s\nwant (spacing aside):\n%s", cols, want)
	}

	// The table and wide: every row's blocker count agrees with its
	// verdict (a CronJob of another test blocks every node: it counts).
	for _, format := range []string{"table", "wide"} {
		table := plan("-o", format)
		head, _, _ := strings.Cut(table, "\n\n")
		rows := strings.Split(head, "\n")[1:]
		named := 0
		for _, row := range rows {
			cells := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(row), -1)
			if len(cells) < 10 {
				t.Fatalf("plan -o %s: row %q", format, row)
			}
			if (cells[6] == inspect.VerdictBlocked) != (cells[7] != "0") {
				t.Errorf("plan -o %s: verdict %s with %s blockers:\n%s", format, cells[6], cells[7], table)
			}
			named += len(strings.Split(cells[0], ","))
		}
		if named != 2 {
			t.Errorf("plan -o %s names %d nodes, want 2:\n%s", format, named, table)
		}
	}
}

// validatePlanSchema checks a plan document against docs/plan.schema.json.
func validatePlanSchema(t *testing.T, doc []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(RepoRoot(), "docs", "plan.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("docs/plan.schema.json: %v", err)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("plan document is not JSON: %v", err)
	}
	sv := &schemaValidator{root: schema}
	sv.validate(schema, v, "$")
	for _, e := range sv.errs {
		t.Errorf("plan document does not match docs/plan.schema.json: %s", e)
	}
}

// schemaValidator implements the subset of JSON Schema 2020-12 that
// docs/plan.schema.json uses: type, required, properties,
// additionalProperties, items, enum, const, pattern, minimum, minLength and
// local $ref into $defs.
type schemaValidator struct {
	root map[string]any
	errs []string
}

func (sv *schemaValidator) fail(at, format string, args ...any) {
	sv.errs = append(sv.errs, at+": "+fmt.Sprintf(format, args...))
}

func (sv *schemaValidator) validate(s map[string]any, v any, at string) {
	if ref, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		def, ok2 := sv.root["$defs"].(map[string]any)[name].(map[string]any)
		if !found || !ok2 {
			sv.fail(at, "unresolvable $ref %q", ref)
			return
		}
		sv.validate(def, v, at)
	}
	if t, ok := s["type"]; ok && !typeMatches(t, v) {
		sv.fail(at, "type %T, want %v", v, t)
		return
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		sv.fail(at, "%v, want the constant %v", v, c)
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || fmt.Sprint(x) == fmt.Sprint(v)
		}
		if !found {
			sv.fail(at, "%v is not one of %v", v, e)
		}
	}
	switch val := v.(type) {
	case string:
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(val) {
			sv.fail(at, "%q does not match %s", val, p)
		}
		if m, ok := s["minLength"].(float64); ok && float64(len(val)) < m {
			sv.fail(at, "%q is shorter than %v", val, m)
		}
	case float64:
		if m, ok := s["minimum"].(float64); ok && val < m {
			sv.fail(at, "%v is below %v", val, m)
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range val {
				sv.validate(items, x, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	case map[string]any:
		for _, r := range asList(s["required"]) {
			if _, ok := val[r]; !ok {
				sv.fail(at, "required key %q is missing", r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(val))
		for k := range val {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				sv.validate(ps, val[k], at+"."+k)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					sv.fail(at, "unexpected key %q", k)
				}
			case map[string]any:
				sv.validate(ap, val[k], at+"."+k)
			}
		}
	}
}

func asList(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}

func typeMatches(t any, v any) bool {
	if list, ok := t.([]any); ok {
		for _, x := range list {
			if typeMatches(x, v) {
				return true
			}
		}
		return false
	}
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	}
	return false
}

// TestPlanSchemaValidator makes sure the validator rejects what it must, so
// that a passing schema check means something.
func TestPlanSchemaValidator(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(RepoRoot(), "docs", "plan.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	good := `{"apiVersion":"crimig.io/v1alpha1","kind":"Plan","target":"cri-o","summary":{"blockers":0,"warnings":0,"infos":0},"findings":[],
	  "nodes":[{"name":"n","role":"worker","runtime":"docker","runtimeVersion":"20.10.24","kubeletVersion":"v1.23.3","ready":true,"cordoned":false,
	  "verdict":"ready","eligible":true,"summary":{"blockers":0,"warnings":0,"infos":0},"findings":[],
	  "files":[{"path":"/etc/x","mode":"0644","new":true,"changed":true,"reason":"r","edits":[{"key":"k","after":"v","reason":"r"}],"content":""}],"steps":[{"name":"lock","description":"d"}]}]}`
	bad := map[string]string{
		"missing kind":        `{"apiVersion":"crimig.io/v1alpha1","target":"cri-o","summary":{"blockers":0,"warnings":0,"infos":0},"findings":[],"nodes":[]}`,
		"findings null":       `{"apiVersion":"crimig.io/v1alpha1","kind":"Plan","target":"cri-o","summary":{"blockers":0,"warnings":0,"infos":0},"findings":null,"nodes":[]}`,
		"bad severity":        strings.Replace(good, `"findings":[],`, `"findings":[{"id":"CRIMIG010","severity":"fatal","subject":"s","message":"m"}],`, 1),
		"bad finding id":      strings.Replace(good, `"findings":[],`, `"findings":[{"id":"X1","severity":"info","subject":"s","message":"m"}],`, 1),
		"negative count":      strings.Replace(good, `"blockers":0`, `"blockers":-1`, 1),
		"bad file mode":       strings.Replace(good, `"0644"`, `"rw-r--r--"`, 1),
		"unknown verdict":     strings.Replace(good, `"verdict":"ready"`, `"verdict":"maybe"`, 1),
		"string for bool":     strings.Replace(good, `"eligible":true`, `"eligible":"yes"`, 1),
		"file without path":   strings.Replace(good, `"path":"/etc/x",`, ``, 1),
		"file without reason": strings.Replace(good, `"changed":true,"reason":"r",`, `"changed":true,`, 1),
		"edit without reason": strings.Replace(good, `"after":"v","reason":"r"`, `"after":"v"`, 1),
	}
	check := func(doc string) []string {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("test document: %v\n%s", err, doc)
		}
		sv := &schemaValidator{root: schema}
		sv.validate(schema, v, "$")
		return sv.errs
	}
	if errs := check(good); len(errs) > 0 {
		t.Errorf("a valid plan is rejected: %v", errs)
	}
	for name, doc := range bad {
		if errs := check(doc); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}
