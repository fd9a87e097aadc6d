// Package e2e drives the real kubectl-crimig binary against the sandbox
// cluster (hack/sandbox-up.sh): a real kube-apiserver, etcd and controllers,
// with kwok and the node simulator standing in for kubelets and hosts.
//
// TestMain brings the sandbox up unless one is already running, and tears
// down only a sandbox it started, unless CRIMIG_E2E_KEEP=1. A sandbox that
// cannot come up fails the run; nothing is skipped.
//
// Cold runs build the control plane from source first; run
// hack/build-sandbox-tools.sh beforehand or pass go test -timeout 30m.
package e2e
