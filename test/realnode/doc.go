// Package realnode holds the real-node tier: scenarios that migrate a real
// systemd-booted Debian node (real dockerd, cri-dockerd and kubelet, joined to
// the tier's own API server) to real CRI-O and containerd with the built
// plugin, and assert the node's real state. hack/realnode/ builds and boots
// the node; see its README.md. The tests need root and run one at a time,
// since there is one node.
package realnode
