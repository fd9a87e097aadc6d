package hostconf

import "strings"

// translatedKeys are daemon.json keys the translators consume; their partial
// losses (a CIDR in insecure-registries, an odd exec-opt) are reported by the
// translator that understands them.
var translatedKeys = map[string]bool{
	"exec-opts": true, "data-root": true, "graph": true, "registry-mirrors": true,
	"insecure-registries": true, "log-driver": true, "log-opts": true,
	"default-ulimits": true, "runtimes": true, "default-runtime": true,
	"storage-driver": true, "storage-opts": true,
}

// networkKeys configure docker's own bridge network. Pods use CNI, so these
// never affected Kubernetes workloads, but the plan still lists them so an
// operator who relied on, say, docker's iptables rules is told.
var networkKeys = map[string]bool{
	"bip": true, "bridge": true, "iptables": true, "ip6tables": true, "ipv6": true,
	"fixed-cidr": true, "fixed-cidr-v6": true, "default-address-pools": true,
	"ip-masq": true, "ip-forward": true, "ip": true, "mtu": true,
	"default-gateway": true, "default-gateway-v6": true, "icc": true,
	"userland-proxy": true, "userland-proxy-path": true, "dns": true,
	"dns-opts": true, "dns-search": true, "bip6": true, "default-network-opts": true,
	"host-gateway-ip": true, "ip-forward-no-drop": true, "firewall-backend": true,
}

// daemonOnlyKeys tune the docker daemon itself and have no CRI counterpart
// that a pod could notice.
var daemonOnlyKeys = map[string]bool{
	"debug": true, "log-level": true, "hosts": true, "tls": true, "tlsverify": true,
	"tlscacert": true, "tlscert": true, "tlskey": true, "group": true, "pidfile": true,
	"experimental": true, "features": true, "builder": true, "labels": true,
	"max-concurrent-downloads": true, "max-concurrent-uploads": true,
	"max-download-attempts": true, "metrics-addr": true, "containerd": true,
	"containerd-namespace": true, "containerd-plugins-namespace": true,
	"exec-root": true, "shutdown-timeout": true, "swarm-default-advertise-addr": true,
	"cluster-store": true, "cluster-advertise": true, "raw-logs": true,
	"cluster-store-opts": true, "api-cors-header": true, "log-format": true,
	"min-api-version": true, "node-generic-resources": true, "allow-nondistributable-artifacts": true,
	"init-path": true,
}

type lossRule struct {
	sev, reason, remedy string
}

// specialKeys change behaviour pods or operators may rely on.
var specialKeys = map[string]lossRule{
	"userns-remap": {LossWarning, "the CRI runtimes do not remap every container into one user namespace",
		"use pod user namespaces (spec.hostUsers: false) on kubelet ≥1.30 for the pods that need it"},
	"authorization-plugins": {LossWarning, "docker authorization plugins have no CRI equivalent",
		"enforce the same policy with admission control (Pod Security, a policy engine)"},
	"live-restore": {LossInfo, "CRI-O and containerd keep containers running across runtime restarts without a setting", ""},
	"proxies": {LossWarning, "image pulls by the new runtime do not use docker's proxy settings",
		"add HTTP_PROXY/HTTPS_PROXY/NO_PROXY Environment= lines to a systemd drop-in for the runtime service"},
	"selinux-enabled": {LossWarning, "SELinux labelling is configured separately in the new runtime",
		"set selinux = true in a crio.conf.d drop-in (CRI-O) or enable_selinux (containerd)"},
	"seccomp-profile": {LossWarning, "docker's daemon-wide seccomp profile is not applied by the new runtime",
		"set seccomp_profile in a crio.conf.d drop-in, or use pod seccompProfile"},
	"default-shm-size": {LossInfo, "pods get the runtime's default /dev/shm size (64 MiB)", "mount an emptyDir with medium: Memory where more is needed"},
	"cgroup-parent":    {LossInfo, "the kubelet chooses the cgroup parent for pods", ""},
	"no-new-privileges": {LossWarning, "no-new-privileges is not forced on every container by the new runtime",
		"set allowPrivilegeEscalation: false in pod security contexts or enforce it with Pod Security"},
	"oom-score-adjust": {LossInfo, "dockerd's own OOM score adjustment; CRI-O and containerd take theirs from their systemd unit " +
		"(OOMScoreAdjust=, -999 in the packages' units), and the kubelet sets each container's by QoS class",
		"to choose another, set OOMScoreAdjust= in a drop-in of the runtime's service"},
	"init": {LossWarning, "docker ran an init process (docker-init) as PID 1 of every container; the CRI runtimes do not",
		"use an image with its own init (tini), or shareProcessNamespace: true, for pods that need zombies reaped"},
	"cdi-spec-dirs": {LossWarning, "docker's CDI spec directories are not carried over",
		"set cdi_spec_dirs in a crio.conf.d drop-in (CRI-O) or cdi_spec_dirs in config.toml (containerd)"},
	"default-cgroupns-mode": {LossInfo, "the runtime chooses the cgroup namespace: private on cgroup v2, as docker's default there", ""},
	"default-ipc-mode":      {LossInfo, "pods get a private IPC namespace, or the host's with hostIPC: true", ""},
	"cpu-rt-period":         {LossWarning, "no realtime CPU budget is given to containers", "set cpu.rt_* for the pods' cgroups by other means"},
	"cpu-rt-runtime":        {LossWarning, "no realtime CPU budget is given to containers", "set cpu.rt_* for the pods' cgroups by other means"},
	"registry-auths":        {LossWarning, "registry credentials are not copied", "use imagePullSecrets or the kubelet credential provider"},
}

// daemonKeyLosses reports every daemon.json key that no translator consumes.
func daemonKeyLosses(c *DaemonConfig) []Loss {
	var out []Loss
	for _, key := range sortedKeys(c.Raw) {
		if translatedKeys[key] {
			continue
		}
		v := c.rawString(key)
		if r, ok := specialKeys[key]; ok {
			out = append(out, newLoss(r.sev, key, v, r.reason, r.remedy))
			continue
		}
		switch {
		case networkKeys[key]:
			out = append(out, newLoss(LossInfo, key, v,
				"docker bridge networking setting; pods use the CNI plugin, so there is nothing to carry over", ""))
		case daemonOnlyKeys[key]:
			out = append(out, newLoss(LossInfo, key, v, "docker daemon setting with no CRI counterpart", ""))
		default:
			out = append(out, newLoss(LossWarning, key, v, "unknown daemon.json key; not translated",
				"review whether the new runtime needs an equivalent setting"))
		}
	}
	return out
}

// logLosses covers log-driver and log-opts beyond the two keys the kubelet
// takes over.
func logLosses(c *DaemonConfig) []Loss {
	var out []Loss
	switch c.LogDriver {
	case "", "json-file", "local":
	default:
		out = append(out, newLoss(LossWarning, "log-driver", c.LogDriver,
			"CRI runtimes write container logs as CRI-format files under /var/log/pods; logs no longer go to "+c.LogDriver,
			"collect /var/log/pods with a node log agent that parses the CRI format"))
	}
	for _, k := range sortedKeys(c.LogOpts) {
		if k == "max-size" || k == "max-file" {
			continue
		}
		out = append(out, newLoss(LossInfo, "log-opts."+k, c.LogOpts[k],
			"the kubelet rotates and compresses CRI logs itself; this docker log option has no equivalent", ""))
	}
	return out
}

// storageLosses flags storage settings that need a human: the new runtime
// uses overlay by default and does not read docker's storage options.
func storageLosses(c *DaemonConfig) []Loss {
	var out []Loss
	switch c.StorageDriver {
	case "", "overlay2", "overlay":
	default:
		out = append(out, newLoss(LossWarning, "storage-driver", c.StorageDriver,
			"the new runtime uses the overlay driver by default",
			"check the filesystem supports overlay, or set storage_driver in /etc/containers/storage.conf (CRI-O) or the snapshotter (containerd)"))
	}
	for _, o := range c.StorageOpts {
		out = append(out, newLoss(LossWarning, "storage-opts", o,
			"docker storage options are not translated",
			"review /etc/containers/storage.conf (CRI-O) or the containerd snapshotter settings"))
	}
	return out
}

// execOptLosses reports exec-opts other than native.cgroupdriver.
func execOptLosses(c *DaemonConfig) []Loss {
	var out []Loss
	for _, o := range c.ExecOpts {
		k, _, _ := strings.Cut(o, "=")
		if strings.TrimSpace(k) == "native.cgroupdriver" {
			continue
		}
		out = append(out, newLoss(LossWarning, "exec-opts", o, "exec option not translated",
			"review whether the new runtime needs an equivalent setting"))
	}
	return out
}
