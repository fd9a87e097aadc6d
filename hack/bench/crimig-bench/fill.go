package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// namespaces the workloads spread over.
const namespaces = 50

type fillOptions struct {
	kubeconfig  string
	nodes, pods int
	replicaSets int
	workers     int
}

func runFill(args []string) error {
	o := fillOptions{}
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the API server to fill")
	fs.IntVar(&o.nodes, "nodes", 2000, "Docker nodes")
	fs.IntVar(&o.pods, "pods", 60000, "pods in all (two DaemonSet pods per node, the rest in ReplicaSets)")
	fs.IntVar(&o.replicaSets, "replicasets", 2800, "ReplicaSets, each with a Deployment and a PodDisruptionBudget")
	fs.IntVar(&o.workers, "workers", 64, "concurrent requests")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := clientConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := fill(context.Background(), c, o); err != nil {
		return err
	}
	fmt.Printf("filled %d nodes, %d pods, %d ReplicaSets/Deployments/PDBs, 2 DaemonSets, 1 CronJob in %.1f s\n",
		o.nodes, o.pods, o.replicaSets, time.Since(start).Seconds())
	return nil
}

// clientConfig reads kubeconfig with protobuf and a high rate limit: the
// bench wants the API server, not the client, to be the bottleneck.
func clientConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 5000, 5000
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return cfg, nil
}

// pool runs tasks on a fixed number of goroutines and keeps the first error.
type pool struct {
	tasks chan func() error
	wg    sync.WaitGroup
	err   atomic.Value
	done  atomic.Int64
}

func newPool(workers int) *pool {
	p := &pool{tasks: make(chan func() error, workers*2)}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for t := range p.tasks {
				if p.err.Load() != nil {
					continue
				}
				if err := t(); err != nil {
					p.err.CompareAndSwap(nil, err)
				}
				p.done.Add(1)
			}
		}()
	}
	return p
}

func (p *pool) wait() error {
	close(p.tasks)
	p.wg.Wait()
	if err, ok := p.err.Load().(error); ok {
		return err
	}
	return nil
}

func fill(ctx context.Context, c kubernetes.Interface, o fillOptions) error {
	// No controller-manager runs: each namespace gets its default
	// ServiceAccount here, which the ServiceAccount admission wants.
	for i := -1; i < namespaces; i++ {
		name := "kube-system"
		if i >= 0 {
			name = nsName(i)
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
			if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); exists(err) != nil {
				return err
			}
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "default"}}
		if _, err := c.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); exists(err) != nil {
			return err
		}
	}
	for _, cm := range configMaps() {
		if _, err := c.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{}); exists(err) != nil {
			return err
		}
	}
	cj := cronJob()
	if _, err := c.BatchV1().CronJobs(cj.Namespace).Create(ctx, cj, metav1.CreateOptions{}); exists(err) != nil {
		return err
	}
	// A fill that stopped half-way is resumed: running pods are kept.
	running, err := runningPods(ctx, c)
	if err != nil {
		return err
	}
	if len(running) > 0 {
		fmt.Fprintf(os.Stderr, "  fill: resuming, %d running pods are there already\n", len(running))
	}
	p := newPool(o.workers)
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fmt.Fprintf(os.Stderr, "  fill: %d objects written\n", p.done.Load())
			}
		}
	}()
	defer close(stop)
	for i := range o.nodes {
		n := node(i)
		p.tasks <- func() error {
			_, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
			return exists(err)
		}
	}
	dsPods := min(2*o.nodes, o.pods)
	for d, ds := range daemonSets() {
		p.tasks <- func() error {
			_, err := c.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds, metav1.CreateOptions{})
			return exists(err)
		}
		for i := d; i < dsPods; i += 2 {
			pod := dsPod(ds, i/2, node(i/2).Name)
			if !running[pod.Namespace+"/"+pod.Name] {
				p.tasks <- func() error { return createPod(ctx, c, pod) }
			}
		}
	}
	rsPods := o.pods - dsPods
	k := 0
	for r := range o.replicaSets {
		replicas := rsPods / o.replicaSets
		if r < rsPods%o.replicaSets {
			replicas++
		}
		d, rs, pdb := workload(r, replicas)
		p.tasks <- func() error {
			if _, err := c.AppsV1().Deployments(d.Namespace).Create(ctx, d, metav1.CreateOptions{}); exists(err) != nil {
				return err
			}
			if _, err := c.AppsV1().ReplicaSets(rs.Namespace).Create(ctx, rs, metav1.CreateOptions{}); exists(err) != nil {
				return err
			}
			pdbs := c.PolicyV1().PodDisruptionBudgets(pdb.Namespace)
			created, err := pdbs.Create(ctx, pdb, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				created, err = pdbs.Get(ctx, pdb.Name, metav1.GetOptions{})
			}
			if err != nil {
				return err
			}
			created.Status = pdb.Status
			_, err = c.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
			return err
		}
		used := map[string]bool{}
		for j := range replicas {
			pod := rsPod(r, rs, j, node(k%o.nodes).Name, used)
			k++
			if !running[pod.Namespace+"/"+pod.Name] {
				p.tasks <- func() error { return createPod(ctx, c, pod) }
			}
		}
	}
	return p.wait()
}

// createPod creates pod and then writes its status: the API server resets
// the status of a new pod to Pending, and no kubelet is there to update it.
func createPod(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod) error {
	status := pod.Status
	pods := c.CoreV1().Pods(pod.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = pods.Get(ctx, pod.Name, metav1.GetOptions{})
	}
	if err != nil {
		return err
	}
	created.Status = status
	_, err = c.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	return err
}

// exists forgives AlreadyExists, so that a fill can be resumed.
func exists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// runningPods returns the "namespace/name" of the pods already Running.
func runningPods(ctx context.Context, c kubernetes.Interface) (map[string]bool, error) {
	out := map[string]bool{}
	opts := metav1.ListOptions{Limit: 1000}
	for {
		list, err := c.CoreV1().Pods("").List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			if p := &list.Items[i]; p.Status.Phase == corev1.PodRunning {
				out[p.Namespace+"/"+p.Name] = true
			}
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			return out, nil
		}
	}
}

func nsName(i int) string { return fmt.Sprintf("bench-%02d", i%namespaces) }

func hash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

var benchStart = metav1.NewTime(time.Now().Add(-48 * time.Hour).Truncate(time.Second))

func node(i int) *corev1.Node {
	name := fmt.Sprintf("node-%04d", i)
	res := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("500Gi"),
	}
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: benchStart, LastTransitionTime: benchStart}
	}
	var images []corev1.ContainerImage
	for j := range 12 {
		img := fmt.Sprintf("registry.example.com/team/app-%04d", (i+j*97)%2800)
		images = append(images, corev1.ContainerImage{
			Names:     []string{img + "@sha256:" + hash(img, 64), img + ":1.4.2"},
			SizeBytes: int64(50_000_000 + j*1_000_000),
		})
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
				"node.kubernetes.io/instance-type": "m5.16xlarge", "topology.kubernetes.io/zone": fmt.Sprintf("zone-%c", 'a'+i%3),
			},
			Annotations: map[string]string{
				"kubeadm.alpha.kubernetes.io/cri-socket":                 "unix:///var/run/cri-dockerd.sock",
				"node.alpha.kubernetes.io/ttl":                           "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
		},
		Spec: corev1.NodeSpec{PodCIDR: fmt.Sprintf("10.%d.%d.0/24", 64+i/256, i%256), PodCIDRs: []string{fmt.Sprintf("10.%d.%d.0/24", 64+i/256, i%256)}},
		Status: corev1.NodeStatus{
			Capacity: res, Allocatable: res,
			Conditions: []corev1.NodeCondition{
				cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
				cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
				cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
				cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
			},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.%d.%d", i/256, i%256)},
				{Type: corev1.NodeHostName, Address: name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID: hash(name, 32), SystemUUID: hash("uuid"+name, 32), BootID: hash("boot"+name, 32),
				KernelVersion: "5.15.0-91-generic", OSImage: "Ubuntu 22.04.3 LTS",
				ContainerRuntimeVersion: "docker://20.10.24", KubeletVersion: "v1.29.15",
				OperatingSystem: "linux", Architecture: "amd64",
			},
			Images: images,
		},
	}
}

func configMaps() []*corev1.ConfigMap {
	return []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "fluent-bit-config"}, Data: map[string]string{
			"fluent-bit.conf": "[INPUT]\n    Name tail\n    Path /var/log/containers/*.log\n    Parser docker\n",
		}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubelet-config"}, Data: map[string]string{
			"kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n",
		}},
	}
}

func cronJob() *batchv1.CronJob {
	spec := podSpec("registry.example.com/ops/registry-cleanup:2.1", false, true)
	spec.RestartPolicy = corev1.RestartPolicyOnFailure
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: nsName(0), Name: "registry-cleanup"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
		}},
	}
}

func daemonSets() []*appsv1.DaemonSet {
	mk := func(name, image string, vols map[string]string, cm string) *appsv1.DaemonSet {
		labels := map[string]string{"k8s-app": name}
		spec := corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: name, Image: image,
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
			}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		}
		for v, p := range vols {
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: v, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: p}}})
			spec.Containers[0].VolumeMounts = append(spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: v, MountPath: p})
		}
		if cm != "" {
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}})
		}
		return &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name, UID: "", Labels: labels},
			Spec: appsv1.DaemonSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
			},
		}
	}
	return []*appsv1.DaemonSet{
		mk("kube-proxy", "registry.k8s.io/kube-proxy:v1.29.15", map[string]string{"xtables-lock": "/run/xtables.lock", "lib-modules": "/lib/modules"}, ""),
		mk("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:2.2.0", map[string]string{"varlog": "/var/log", "containers": "/var/lib/docker/containers"}, "fluent-bit-config"),
	}
}

func dsPod(ds *appsv1.DaemonSet, i int, nodeName string) *corev1.Pod {
	spec := *ds.Spec.Template.Spec.DeepCopy()
	spec.NodeName = nodeName
	yes := true
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ds.Namespace, Name: ds.Name + "-" + hash(nodeName+ds.Name, 8),
			Labels: map[string]string{"k8s-app": ds.Name, "controller-revision-hash": hash(ds.Name, 10), "pod-template-generation": "1"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name,
				UID: types.UID("00000000-0000-0000-0000-" + hash(ds.Name, 12)), Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		Spec: spec,
	}
	p.Status = runningStatus(p, i)
	return p
}

func workload(r, replicas int) (*appsv1.Deployment, *appsv1.ReplicaSet, *policyv1.PodDisruptionBudget) {
	name := fmt.Sprintf("app-%04d", r)
	ns := nsName(r)
	labels := map[string]string{"app": name, "team": fmt.Sprintf("team-%d", r%40)}
	image := fmt.Sprintf("registry.example.com/team/%s:1.4.2", name)
	if r%40 == 7 {
		image = "nginx:1.25"
	}
	spec := podSpec(image, r%50 == 3, r%70 == 5)
	if r%5 == 0 {
		spec.Containers = append(spec.Containers, corev1.Container{
			Name: "proxy", Image: "registry.example.com/mesh/proxy:1.20.1",
			Args: []string{"proxy", "sidecar", "--log-level=warning"},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("40Mi")}},
		})
	}
	n := int32(replicas)
	yes := true
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}},
	}
	rsLabels := map[string]string{"app": name, "team": labels["team"], "pod-template-hash": hash(name, 10)}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-" + hash(name, 10), Labels: rsLabels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: name,
				UID: types.UID("00000000-0000-0000-0000-" + hash(name, 12)), Controller: &yes, BlockOwnerDeletion: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name, "pod-template-hash": rsLabels["pod-template-hash"]}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: rsLabels}, Spec: spec}},
	}
	minAvailable := intstr.FromInt32(max(n-1, 0))
	allowed := int32(1)
	if r%200 == 11 {
		allowed = 0 // a budget that blocks every drain
	}
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed, CurrentHealthy: n, DesiredHealthy: max(n-1, 0), ExpectedPods: n,
			Conditions: []metav1.Condition{{Type: "DisruptionAllowed", Status: metav1.ConditionTrue, Reason: "SufficientPods", LastTransitionTime: benchStart}}},
	}
	return d, rs, pdb
}

// podSpec is the shape of an ordinary service's pod; dockerSock mounts
// /var/run/docker.sock and dockerHost sets DOCKER_HOST.
func podSpec(image string, dockerSock, dockerHost bool) corev1.PodSpec {
	env := []corev1.EnvVar{
		{Name: "LOG_LEVEL", Value: "info"}, {Name: "HTTP_PORT", Value: "8080"},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
	}
	if dockerHost {
		env = append(env, corev1.EnvVar{Name: "DOCKER_HOST", Value: "tcp://127.0.0.1:2375"})
	}
	c := corev1.Container{
		Name: "app", Image: image, Env: env,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
			PeriodSeconds: 10},
		VolumeMounts: []corev1.VolumeMount{{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
	}
	expiry := int64(3607)
	vols := []corev1.Volume{{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: &expiry, Path: "token"}},
		{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
		{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
	}}}}}
	if dockerSock {
		vols = append(vols, corev1.Volume{Name: "docker-sock", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "docker-sock", MountPath: "/var/run/docker.sock"})
	}
	secs := int64(300)
	return corev1.PodSpec{
		Containers: []corev1.Container{c}, Volumes: vols,
		Tolerations: []corev1.Toleration{
			{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs},
			{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs},
		},
	}
}

// rsPod makes the j-th pod of rs; used holds the names taken in rs, so
// that two pods never share a random-looking suffix.
func rsPod(r int, rs *appsv1.ReplicaSet, j int, nodeName string, used map[string]bool) *corev1.Pod {
	spec := *rs.Spec.Template.Spec.DeepCopy()
	spec.NodeName = nodeName
	yes := true
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: rs.Namespace, Name: podName(rs.Name, j, used),
			Labels:      rs.Spec.Template.Labels,
			Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name,
				UID: types.UID("00000000-0000-0000-0000-" + hash(rs.Name, 12)), Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		Spec: spec,
	}
	p.Status = runningStatus(p, r*1000+j)
	return p
}

func podName(rs string, j int, used map[string]bool) string {
	seed := fmt.Sprintf("%s-%d", rs, j)
	for {
		name := rs + "-" + hash(seed, 5)
		if !used[name] {
			used[name] = true
			return name
		}
		seed += "+"
	}
}

func runningStatus(p *corev1.Pod, i int) corev1.PodStatus {
	cond := func(t corev1.PodConditionType) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: benchStart}
	}
	ip := fmt.Sprintf("10.%d.%d.%d", 64+(i/65536)%64, (i/256)%256, i%256)
	st := corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{cond("PodReadyToStartContainers"), cond(corev1.PodInitialized), cond(corev1.PodReady),
			cond(corev1.ContainersReady), cond(corev1.PodScheduled)},
		HostIP: "10.0.0.1", HostIPs: []corev1.HostIP{{IP: "10.0.0.1"}},
		PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &benchStart, QOSClass: corev1.PodQOSBurstable,
	}
	for _, c := range p.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "docker-pullable://" + c.Image + "@sha256:" + hash(c.Image, 64),
			ContainerID: "docker://" + hash(p.Name+c.Name, 64), Ready: true, Started: &[]bool{true}[0],
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: benchStart}},
		})
	}
	return st
}
