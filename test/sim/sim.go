// Package sim is the node simulator: fixtures for simulated Docker hosts,
// the kwok stages, and (in subpackages) the host model, the stub commands,
// the root builder and the Node status controller. See README.md.
package sim

import "embed"

// Fixtures holds fixtures/<name>/root/..., the files of each simulated host.
//
//go:embed all:fixtures
var Fixtures embed.FS

// Stages is the kwok Stage configuration the sandbox loads with --config.
//
//go:embed stages.yaml
var Stages []byte

// ExecCRD is kwok's Exec CRD (kwok.x-k8s.io/v1alpha1), which must exist
// when kwok runs with --enable-crds=Exec.
//
//go:embed crds/kwok.x-k8s.io_execs.yaml
var ExecCRD []byte

// LogsCRD is kwok's Logs CRD, which must exist when kwok runs with
// --enable-crds=Logs: the simulator points `kubectl logs` of crimig pods at
// the log files their node's runtime writes.
//
//go:embed crds/kwok.x-k8s.io_logs.yaml
var LogsCRD []byte

// CRDs are the kwok CRDs the sandbox installs before kwok starts.
var CRDs = [][]byte{ExecCRD, LogsCRD}
