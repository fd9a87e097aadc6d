package inspect

import (
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Facts is what plan keeps of the cluster: every object reduced, as it is
// read, to the few fields the findings use. A 60,000-pod cluster fits in a
// few tens of MiB this way, where the listed objects take several hundred.
// CollectFacts streams it from the API server; NewFacts reduces a
// ClusterFacts. BuildPlan(cf, …) is NewFacts(cf).Plan(…).
type Facts struct {
	// Nodes are whole but for their image lists and managed fields.
	Nodes []corev1.Node
	pods  []podFacts
	// PDBs are whole but for their managed fields.
	PDBs []policyv1.PodDisruptionBudget
	// owners maps "namespace/name" of ReplicaSets and Jobs to their controller.
	rsOwners, jobOwners map[string]*ownerRef
	// templates are the workloads' pod templates, DaemonSets, Deployments,
	// StatefulSets then CronJobs, each in list order.
	daemonSets, deployments, statefulSets, cronJobs []podTemplate
	// kubeletConfigMaps are the kube-system ConfigMaps named like kubeadm's
	// kubelet-config (name only); dockerJSONConfigMaps holds the
	// "namespace/name" of the ConfigMaps whose content parses docker JSON logs.
	kubeletConfigMaps    []corev1.ConfigMap
	dockerJSONConfigMaps map[string]bool
}

// ownerRef is a controller reference: kind and name, in the object's namespace.
type ownerRef struct{ kind, name string }

// podFacts is what plan keeps of a pod.
type podFacts struct {
	namespace, name string
	// node is spec.nodeName, empty while unscheduled.
	node  string
	phase corev1.PodPhase
	// labels are shared between pods with the same set (see interner).
	labels labels.Set
	// ctrl is the controller, nil for a bare pod.
	ctrl   *ownerRef
	mirror bool
	// cpuMilli and memBytes sum the containers' requests.
	cpuMilli, memBytes int64
	// extra is nil for the many pods with none of what it holds.
	*podExtra
}

// podExtra is what few pods have, out of line so that the others stay small.
type podExtra struct {
	// hits are the docker dependencies of the spec, in scan order.
	hits []specHit
	// emptyDir is the name of the first emptyDir volume; hasEmptyDir tells.
	emptyDir    string
	hasEmptyDir bool
	// images are every container's image, init containers first; kept only
	// for pods that return to the node after a drain (returnsToNode).
	images []string
	// logAgent is the log agent the pod runs, configMaps its ConfigMap
	// volumes' names (kept only for log agents).
	logAgent   string
	configMaps []string
}

// specHit is one docker dependency of a pod spec: a finding ID and its detail.
type specHit struct{ id, detail string }

// podTemplate is a workload's pod template, reduced to its docker dependencies.
type podTemplate struct {
	owner string
	hits  []specHit
}

// interner shares equal strings and label sets between pods: a fleet's pods
// repeat a few namespaces, node names, owners and label sets many times.
type interner struct {
	strs   map[string]string
	labels map[string]labels.Set
	key    strings.Builder
}

func newInterner() *interner {
	return &interner{strs: map[string]string{}, labels: map[string]labels.Set{}}
}

func (in *interner) str(s string) string {
	if v, ok := in.strs[s]; ok {
		return v
	}
	in.strs[s] = s
	return s
}

func (in *interner) labelSet(m map[string]string) labels.Set {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	in.key.Reset()
	for _, k := range keys {
		in.key.WriteString(k)
		in.key.WriteByte(0)
		in.key.WriteString(m[k])
		in.key.WriteByte(0)
	}
	if v, ok := in.labels[in.key.String()]; ok {
		return v
	}
	set := make(labels.Set, len(m))
	for k, v := range m {
		set[in.str(k)] = in.str(v)
	}
	in.labels[in.key.String()] = set
	return set
}

// reducePod keeps what plan needs of p. It copies nothing it does not keep,
// so the listed page can be freed right after.
func (in *interner) reducePod(p *corev1.Pod) podFacts {
	pf := podFacts{
		namespace: in.str(p.Namespace), name: p.Name, node: in.str(p.Spec.NodeName),
		phase: corev1.PodPhase(in.str(string(p.Status.Phase))), labels: in.labelSet(p.Labels),
	}
	if ref := metav1.GetControllerOf(p); ref != nil {
		pf.ctrl = &ownerRef{kind: in.str(ref.Kind), name: in.str(ref.Name)}
	}
	_, pf.mirror = p.Annotations[corev1.MirrorPodAnnotationKey]
	cpu, mem := podRequests(p)
	pf.cpuMilli, pf.memBytes = cpu.MilliValue(), mem.Value()
	var x podExtra
	x.hits = in.specHits(&p.Spec)
	for _, v := range p.Spec.Volumes {
		if v.EmptyDir != nil {
			x.emptyDir, x.hasEmptyDir = v.Name, true
			break
		}
	}
	if pf.returnsToNode() {
		for _, c := range allContainers(&p.Spec) {
			if c.Image != "" {
				x.images = append(x.images, in.str(c.Image))
			}
		}
	}
	if x.logAgent = logAgentName(p); x.logAgent != "" {
		for _, v := range p.Spec.Volumes {
			if v.ConfigMap != nil {
				x.configMaps = append(x.configMaps, in.str(v.ConfigMap.Name))
			}
		}
	}
	if x.hits != nil || x.hasEmptyDir || x.images != nil || x.logAgent != "" {
		pf.podExtra = &x
	}
	return pf
}

// extra returns what the pod has of podExtra, empty when nothing.
func (p *podFacts) extra() *podExtra {
	if p.podExtra == nil {
		return &noExtra
	}
	return p.podExtra
}

var noExtra podExtra

// specHits lists the docker dependencies of spec in the order workload
// findings take them: hostPath volumes, then each container's DOCKER_HOST
// and short image name, init containers first.
func (in *interner) specHits(spec *corev1.PodSpec) []specHit {
	var hits []specHit
	for _, v := range spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		if id := hostPathKind(v.HostPath.Path); id != "" {
			hits = append(hits, specHit{id, in.str(v.HostPath.Path)})
		}
	}
	each := func(cs []corev1.Container) {
		for i := range cs {
			c := &cs[i]
			for _, e := range c.Env {
				if e.Name == "DOCKER_HOST" {
					hits = append(hits, specHit{IDDockerHost, in.str(e.Value)})
				}
			}
			if IsShortImageName(c.Image) {
				hits = append(hits, specHit{IDShortImageName, in.str(c.Image)})
			}
		}
	}
	each(spec.InitContainers)
	each(spec.Containers)
	return hits
}

// evicted tells the pods a drain removes: not DaemonSet pods, not mirror pods.
func (p *podFacts) evicted() bool {
	return !p.mirror && (p.ctrl == nil || p.ctrl.kind != "DaemonSet")
}

// returnsToNode tells the pods that come back on the node after the swap
// without a scheduler: mirror pods and DaemonSet pods.
func (p *podFacts) returnsToNode() bool {
	return p.mirror || (p.ctrl != nil && p.ctrl.kind == "DaemonSet")
}

func controllerRef(obj metav1.Object) *ownerRef {
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil {
		return nil
	}
	return &ownerRef{kind: ref.Kind, name: ref.Name}
}

// slimNode drops what plan never reads and a node carries a lot of: the
// images in its status and the managed fields.
func slimNode(n *corev1.Node) corev1.Node {
	out := *n
	out.ManagedFields = nil
	out.Status.Images = nil
	out.Status.VolumesInUse = nil
	out.Status.VolumesAttached = nil
	return out
}

func slimPDB(p *policyv1.PodDisruptionBudget) policyv1.PodDisruptionBudget {
	out := *p
	out.ManagedFields = nil
	return out
}

// addConfigMap keeps of cm whether it configures a docker JSON log parser
// and, in kube-system, whether it is a kubelet-config.
func (f *Facts) addConfigMap(cm *corev1.ConfigMap) {
	if cm.Namespace == "kube-system" && kubeletConfigMapName.MatchString(cm.Name) {
		f.kubeletConfigMaps = append(f.kubeletConfigMaps, corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: cm.Namespace, Name: cm.Name}})
	}
	for _, content := range cm.Data {
		for _, re := range dockerJSONParsers {
			if re.MatchString(content) {
				f.dockerJSONConfigMaps[cm.Namespace+"/"+cm.Name] = true
				return
			}
		}
	}
}

func newFacts() *Facts {
	return &Facts{rsOwners: map[string]*ownerRef{}, jobOwners: map[string]*ownerRef{}, dockerJSONConfigMaps: map[string]bool{}}
}

// NewFacts reduces listed objects to what plan keeps.
func NewFacts(cf *ClusterFacts) *Facts {
	f := newFacts()
	in := newInterner()
	for i := range cf.Nodes {
		f.Nodes = append(f.Nodes, slimNode(&cf.Nodes[i]))
	}
	for i := range cf.Pods {
		f.pods = append(f.pods, in.reducePod(&cf.Pods[i]))
	}
	for i := range cf.PDBs {
		f.PDBs = append(f.PDBs, slimPDB(&cf.PDBs[i]))
	}
	for i := range cf.ReplicaSets {
		f.addReplicaSet(&cf.ReplicaSets[i].ObjectMeta)
	}
	for i := range cf.Jobs {
		f.addJob(&cf.Jobs[i].ObjectMeta)
	}
	for i := range cf.DaemonSets {
		f.addDaemonSet(in, &cf.DaemonSets[i])
	}
	for i := range cf.Deployments {
		f.addDeployment(in, &cf.Deployments[i])
	}
	for i := range cf.StatefulSets {
		f.addStatefulSet(in, &cf.StatefulSets[i])
	}
	for i := range cf.CronJobs {
		f.addCronJob(in, &cf.CronJobs[i])
	}
	for i := range cf.ConfigMaps {
		f.addConfigMap(&cf.ConfigMaps[i])
	}
	return f
}

func (f *Facts) addReplicaSet(m metav1.Object) {
	f.rsOwners[m.GetNamespace()+"/"+m.GetName()] = controllerRef(m)
}

func (f *Facts) addJob(m metav1.Object) {
	f.jobOwners[m.GetNamespace()+"/"+m.GetName()] = controllerRef(m)
}

// The templates go under the same owner names that Owner gives their pods,
// so both merge into one finding.
func (f *Facts) addDaemonSet(in *interner, d *appsv1.DaemonSet) {
	f.daemonSets = append(f.daemonSets, podTemplate{"DaemonSet/" + d.Namespace + "/" + d.Name, in.specHits(&d.Spec.Template.Spec)})
}

func (f *Facts) addDeployment(in *interner, d *appsv1.Deployment) {
	f.deployments = append(f.deployments, podTemplate{"Deployment/" + d.Namespace + "/" + d.Name, in.specHits(&d.Spec.Template.Spec)})
}

func (f *Facts) addStatefulSet(in *interner, s *appsv1.StatefulSet) {
	f.statefulSets = append(f.statefulSets, podTemplate{"StatefulSet/" + s.Namespace + "/" + s.Name, in.specHits(&s.Spec.Template.Spec)})
}

func (f *Facts) addCronJob(in *interner, c *batchv1.CronJob) {
	f.cronJobs = append(f.cronJobs, podTemplate{"CronJob/" + c.Namespace + "/" + c.Name, in.specHits(&c.Spec.JobTemplate.Spec.Template.Spec)})
}

// templates lists the workloads' pod templates in the order findings take them.
func (f *Facts) templates() []podTemplate {
	out := make([]podTemplate, 0, len(f.daemonSets)+len(f.deployments)+len(f.statefulSets)+len(f.cronJobs))
	out = append(out, f.daemonSets...)
	out = append(out, f.deployments...)
	out = append(out, f.statefulSets...)
	return append(out, f.cronJobs...)
}

// owner returns "Kind/namespace/name" for the pod's top-level workload: a
// ReplicaSet's Deployment, a Job's CronJob, otherwise the direct
// controller; "Pod/namespace/name" for a pod without a controller.
func (f *Facts) owner(p *podFacts) string {
	ref := p.ctrl
	if ref == nil {
		return "Pod/" + p.namespace + "/" + p.name
	}
	var parent *ownerRef
	switch ref.kind {
	case "ReplicaSet":
		parent = f.rsOwners[p.namespace+"/"+ref.name]
	case "Job":
		parent = f.jobOwners[p.namespace+"/"+ref.name]
	}
	if parent != nil {
		ref = parent
	}
	return ref.kind + "/" + p.namespace + "/" + ref.name
}
