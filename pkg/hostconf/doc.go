// Package hostconf owns every translation and edit crimig makes to a node's
// configuration files: daemon.json into CRI-O drop-ins or a containerd
// config.toml, registry mirrors and insecure registries into
// registries.conf.d or containerd hosts.toml files, and the kubelet's flags
// files, config.yaml, the kubelet-config ConfigMap and kubeadm's per-node CRI
// socket.
//
// Everything here is pure: callers read the host files and pass their bytes
// in; the package returns the files to write (with their previous content and
// a unified diff for the plan), the copy operations to run, and the settings
// that cannot be carried over (Losses). Nothing here touches the filesystem
// or the network, so the same code serves `plan` (show) and `migrate` (apply)
// and is tested with golden files.
//
// Choices that callers should know about:
//
//   - The cgroup driver is kept, not changed: Options.CgroupDriver, then
//     daemon.json exec-opts, then the kubelet's --cgroup-driver, then
//     config.yaml, then docker's default for the cgroup version. Switching a
//     node to systemd is an explicit option because the kubelet-config
//     ConfigMap has to follow (see ConfigMapEdits.CgroupDriverSafe).
//   - runtimeRequestTimeout is raised to 5m when unset, 0s or lower, and a
//     larger value is kept (see runtimeRequestTimeoutReason).
//   - Every File carries a Reason, and every setting or flag it adds, changes
//     or removes an Edit with its own reason, written next to the code that
//     makes the change, so that the plan can be reviewed on its own.
//   - containerLogMaxSize/MaxFiles come from daemon.json log-opts only when
//     max-size is set; otherwise config.yaml is left as it is.
//   - CRI-O storage follows data-root to <parent of data-root>/containers/storage
//     (containerd: <parent>/containerd), never into docker's own directory,
//     which is kept for rollback; only when Options.DataRootCheckOK is set.
//   - The runtime endpoint goes into exactly one flags file (kubeadm-flags.env
//     when present) for kubelet < 1.27, and into config.yaml from 1.27 on.
//   - config.yaml is edited by line, so comments, order and unknown fields
//     survive; JSON-style files are re-encoded. Every result strict-decodes as
//     kubelet.config.k8s.io/v1beta1.
package hostconf
