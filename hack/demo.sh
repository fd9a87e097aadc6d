#!/usr/bin/env bash
# make demo: bring up the sandbox (a real kube-apiserver with three simulated
# Docker nodes), apply the demo workloads, then run plan and migrate on one
# node and show where every node stands.
set -euo pipefail
cd "$(dirname "$0")/.."

export KUBECONFIG="$PWD/.sandbox/kubeconfig"
crimig=bin/kubectl-crimig
node="${DEMO_NODE:-node-1}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "sandbox"
hack/sandbox-up.sh
# The sandbox's own kubectl, built with the control plane.
kubectl_bin="${XDG_CACHE_HOME:-$HOME/.cache}/crimig-sandbox/v1.37.2/kubectl"

step "workloads"
"$kubectl_bin" apply -f test/fixtures/workloads/ >/dev/null
"$kubectl_bin" wait --for=condition=Available deployment --all -A --timeout=60s >/dev/null
"$kubectl_bin" get nodes -o wide

step "kubectl crimig plan"
"$crimig" plan || echo "(exit $?: blockers found, as expected on this cluster)"

step "kubectl crimig plan $node -o yaml (first lines)"
"$crimig" plan "$node" -o yaml | head -n 60 || true

step "kubectl crimig migrate $node"
# The docker.sock pod is a real blocker; the demo accepts it to show --accept.
"$crimig" migrate "$node" --yes --accept CRIMIG010 --accept CRIMIG013 --force --delete-emptydir-data

step "after"
"$kubectl_bin" get nodes -o wide
if "$crimig" status --help >/dev/null 2>&1; then
	"$crimig" status
fi
echo
echo "The sandbox is still running: export KUBECONFIG=$KUBECONFIG"
echo "Undo the migration:   $crimig rollback $node --yes --force --delete-emptydir-data"
echo "Watch every node:     $crimig status"
echo "Stop the sandbox:     make sandbox-down"
