package rootfs

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// AdvertiseAddress is the control-plane endpoint the fixtures' kubelet.conf
// points at (https://10.0.0.10:6443); a control-plane root's static pods
// advertise it.
const AdvertiseAddress = "10.0.0.10"

// ManifestsDir is kubeadm's staticPodPath.
const ManifestsDir = "/etc/kubernetes/manifests"

// etcdByMinor is the etcd image kubeadm deploys for a Kubernetes minor.
var etcdByMinor = map[int]string{
	23: "3.5.1-0", 24: "3.5.6-0", 25: "3.5.6-0", 26: "3.5.10-0", 27: "3.5.10-0",
	28: "3.5.12-0", 29: "3.5.12-0", 30: "3.5.15-0", 31: "3.5.15-0", 32: "3.5.16-0", 33: "3.5.21-0",
}

// EtcdImageTag is the etcd image tag of a kubeadm control plane at version.
func EtcdImageTag(version string) string {
	minor := host.Minor(version)
	if tag, ok := etcdByMinor[minor]; ok {
		return tag
	}
	if minor < 23 {
		return etcdByMinor[23]
	}
	return "3.5.21-0"
}

type cpData struct {
	Version, Etcd, Addr, Node string
}

// staticPodManifests are kubeadm's four control-plane static pods, trimmed
// to what matters to a runtime swap: images, host networking, host path
// mounts, probes and the priority class.
var staticPodManifests = map[string]string{
	"etcd.yaml": `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/etcd.advertise-client-urls: https://{{.Addr}}:2379
  creationTimestamp: null
  labels:
    component: etcd
    tier: control-plane
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://{{.Addr}}:2379
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --client-cert-auth=true
    - --data-dir=/var/lib/etcd
    - --initial-advertise-peer-urls=https://{{.Addr}}:2380
    - --initial-cluster={{.Node}}=https://{{.Addr}}:2380
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --listen-client-urls=https://127.0.0.1:2379,https://{{.Addr}}:2379
    - --listen-metrics-urls=http://127.0.0.1:2381
    - --listen-peer-urls=https://{{.Addr}}:2380
    - --name={{.Node}}
    - --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt
    - --peer-client-cert-auth=true
    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key
    - --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --snapshot-count=10000
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    image: registry.k8s.io/etcd:{{.Etcd}}
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /livez
        port: 2381
        scheme: HTTP
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: etcd
    resources:
      requests:
        cpu: 100m
        memory: 100Mi
    volumeMounts:
    - mountPath: /var/lib/etcd
      name: etcd-data
    - mountPath: /etc/kubernetes/pki/etcd
      name: etcd-certs
  hostNetwork: true
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki/etcd
      type: DirectoryOrCreate
    name: etcd-certs
  - hostPath:
      path: /var/lib/etcd
      type: DirectoryOrCreate
    name: etcd-data
status: {}
`,
	"kube-apiserver.yaml": `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: {{.Addr}}:6443
  creationTimestamp: null
  labels:
    component: kube-apiserver
    tier: control-plane
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address={{.Addr}}
    - --allow-privileged=true
    - --authorization-mode=Node,RBAC
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --enable-admission-plugins=NodeRestriction
    - --enable-bootstrap-token-auth=true
    - --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt
    - --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt
    - --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key
    - --etcd-servers=https://127.0.0.1:2379
    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt
    - --kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key
    - --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname
    - --proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt
    - --proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key
    - --requestheader-allowed-names=front-proxy-client
    - --requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt
    - --requestheader-extra-headers-prefix=X-Remote-Extra-
    - --requestheader-group-headers=X-Remote-Group
    - --requestheader-username-headers=X-Remote-User
    - --secure-port=6443
    - --service-account-issuer=https://kubernetes.default.svc.cluster.local
    - --service-account-key-file=/etc/kubernetes/pki/sa.pub
    - --service-account-signing-key-file=/etc/kubernetes/pki/sa.key
    - --service-cluster-ip-range=10.96.0.0/12
    - --tls-cert-file=/etc/kubernetes/pki/apiserver.crt
    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
    image: registry.k8s.io/kube-apiserver:{{.Version}}
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: {{.Addr}}
        path: /livez
        port: 6443
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: kube-apiserver
    readinessProbe:
      failureThreshold: 3
      httpGet:
        host: {{.Addr}}
        path: /readyz
        port: 6443
        scheme: HTTPS
      periodSeconds: 1
      timeoutSeconds: 15
    resources:
      requests:
        cpu: 250m
    volumeMounts:
    - mountPath: /etc/ssl/certs
      name: ca-certs
      readOnly: true
    - mountPath: /etc/kubernetes/pki
      name: k8s-certs
      readOnly: true
  hostNetwork: true
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/ssl/certs
      type: DirectoryOrCreate
    name: ca-certs
  - hostPath:
      path: /etc/kubernetes/pki
      type: DirectoryOrCreate
    name: k8s-certs
status: {}
`,
	"kube-controller-manager.yaml": `apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels:
    component: kube-controller-manager
    tier: control-plane
  name: kube-controller-manager
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-controller-manager
    - --allocate-node-cidrs=true
    - --authentication-kubeconfig=/etc/kubernetes/controller-manager.conf
    - --authorization-kubeconfig=/etc/kubernetes/controller-manager.conf
    - --bind-address=127.0.0.1
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --cluster-cidr=10.244.0.0/16
    - --cluster-name=kubernetes
    - --cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt
    - --cluster-signing-key-file=/etc/kubernetes/pki/ca.key
    - --controllers=*,bootstrapsigner,tokencleaner
    - --kubeconfig=/etc/kubernetes/controller-manager.conf
    - --leader-elect=true
    - --requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt
    - --root-ca-file=/etc/kubernetes/pki/ca.crt
    - --service-account-private-key-file=/etc/kubernetes/pki/sa.key
    - --service-cluster-ip-range=10.96.0.0/12
    - --use-service-account-credentials=true
    image: registry.k8s.io/kube-controller-manager:{{.Version}}
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /healthz
        port: 10257
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: kube-controller-manager
    resources:
      requests:
        cpu: 200m
    volumeMounts:
    - mountPath: /etc/kubernetes/pki
      name: k8s-certs
      readOnly: true
    - mountPath: /etc/kubernetes/controller-manager.conf
      name: kubeconfig
      readOnly: true
  hostNetwork: true
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki
      type: DirectoryOrCreate
    name: k8s-certs
  - hostPath:
      path: /etc/kubernetes/controller-manager.conf
      type: FileOrCreate
    name: kubeconfig
status: {}
`,
	"kube-scheduler.yaml": `apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels:
    component: kube-scheduler
    tier: control-plane
  name: kube-scheduler
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-scheduler
    - --authentication-kubeconfig=/etc/kubernetes/scheduler.conf
    - --authorization-kubeconfig=/etc/kubernetes/scheduler.conf
    - --bind-address=127.0.0.1
    - --kubeconfig=/etc/kubernetes/scheduler.conf
    - --leader-elect=true
    image: registry.k8s.io/kube-scheduler:{{.Version}}
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /healthz
        port: 10259
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: kube-scheduler
    resources:
      requests:
        cpu: 100m
    volumeMounts:
    - mountPath: /etc/kubernetes/scheduler.conf
      name: kubeconfig
      readOnly: true
  hostNetwork: true
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/kubernetes/scheduler.conf
      type: FileOrCreate
    name: kubeconfig
status: {}
`,
}

// kubeconfigs kubeadm writes on a control-plane node (super-admin.conf
// from 1.29 on), with placeholder credentials.
func kubeconfigs(minor int) map[string]string {
	users := map[string]string{
		"admin.conf":              "kubernetes-admin",
		"controller-manager.conf": "system:kube-controller-manager",
		"scheduler.conf":          "system:kube-scheduler",
	}
	if minor >= 29 {
		users["super-admin.conf"] = "kubernetes-super-admin"
	}
	out := map[string]string{}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for file, user := range users {
		out[file] = fmt.Sprintf(`apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: %s
    server: https://%s:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: %s
  name: %s@kubernetes
current-context: %s@kubernetes
kind: Config
preferences: {}
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
`, b64("simulated-ca"), AdvertiseAddress, user, user, user, user, b64("simulated-cert "+user), b64("simulated-key "+user))
	}
	return out
}

// pkiFiles are kubeadm's certificates and keys, as placeholders.
var pkiFiles = []string{"ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "apiserver-kubelet-client.crt",
	"apiserver-kubelet-client.key", "apiserver-etcd-client.crt", "apiserver-etcd-client.key", "front-proxy-ca.crt",
	"front-proxy-ca.key", "front-proxy-client.crt", "front-proxy-client.key", "sa.key", "sa.pub",
	"etcd/ca.crt", "etcd/ca.key", "etcd/server.crt", "etcd/server.key", "etcd/peer.crt", "etcd/peer.key",
	"etcd/healthcheck-client.crt", "etcd/healthcheck-client.key"}

// makeControlPlane turns a root into a kubeadm control-plane node: it marks
// host.json and writes the static pod manifests, kubeconfigs and PKI that
// are missing (files already there are left alone). The kubelet config of
// every fixture already has kubeadm's staticPodPath.
func makeControlPlane(o Options) error {
	h := host.New(o.Dir)
	m, err := h.Meta()
	if err != nil {
		return err
	}
	if !m.ControlPlane {
		if err := markControlPlane(h); err != nil {
			return err
		}
	}
	d := cpData{Version: m.KubeletVersion, Etcd: EtcdImageTag(m.KubeletVersion), Addr: AdvertiseAddress, Node: o.Name}
	files := map[string]string{}
	for name, text := range staticPodManifests {
		var b strings.Builder
		if err := template.Must(template.New(name).Parse(text)).Execute(&b, d); err != nil {
			return err
		}
		files[filepath.Join(ManifestsDir, name)] = b.String()
	}
	for name, text := range kubeconfigs(host.Minor(m.KubeletVersion)) {
		files[filepath.Join("/etc/kubernetes", name)] = text
	}
	for _, name := range pkiFiles {
		kind := "CERTIFICATE"
		if strings.HasSuffix(name, ".key") {
			kind = "PRIVATE KEY"
		} else if name == "sa.pub" {
			kind = "PUBLIC KEY"
		}
		files[filepath.Join("/etc/kubernetes/pki", name)] = fmt.Sprintf("-----BEGIN %s-----\n%s\n-----END %s-----\n",
			kind, base64.StdEncoding.EncodeToString([]byte("simulated "+name)), kind)
	}
	for p, content := range files {
		if h.Exists(p) {
			continue
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".key") || strings.HasSuffix(p, ".conf") {
			mode = 0o600
		}
		full := h.P(p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			return err
		}
	}
	return os.MkdirAll(h.P("/var/lib/etcd"), 0o700)
}

// markControlPlane records the role in host.json, keeping its other fields
// as they are.
func markControlPlane(h *host.Host) error {
	var raw map[string]any
	data, err := os.ReadFile(h.P(host.MetaFile))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	raw["controlPlane"] = true
	out, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return err
	}
	return h.Write(host.MetaFile, string(out)+"\n")
}
