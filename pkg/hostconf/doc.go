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
package hostconf
