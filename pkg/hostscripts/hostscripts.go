// Package hostscripts owns every shell script crimig runs on a node's host.
//
// Each script is a POSIX sh file embedded into the binary. Scripts take their
// parameters only from environment variables, so Go code never splices values
// into shell text. They run under the host's /bin/sh, which may be dash, bash
// or busybox ash, and every one passes shellcheck.
package hostscripts

import (
	"embed"
	"fmt"
	"path"
)

//go:embed *.sh
var files embed.FS

// StateDir is crimig's directory on every host: one directory per run id
// holds the backup, the staged files, the journal and the jobs. The
// executor hands it to every script as CRIMIG_STATE_DIR.
const StateDir = "/var/lib/crimig"

// RunDir is the host directory of one run.
func RunDir(runID string) string { return path.Join(StateDir, runID) }

// Names of the embedded scripts.
const (
	// ExecWrapper runs a script with an environment and prints the exit trailer.
	ExecWrapper = "exec-wrapper.sh"
	// Upload receives a file on stdin, checks its sha256 and renames it into place.
	Upload = "upload.sh"
	// ReuseFile tells whether the host already has a file with a given
	// sha256, at the destination or in an earlier run's directory.
	ReuseFile = "reuse-file.sh"
	// Detach starts a job that outlives the exec pod and the container runtime.
	Detach = "detach.sh"
	// JobRunner is the process a detached job runs as; Detach installs it.
	JobRunner = "job-runner.sh"
	// JournalLib is sourced by detached jobs to write their journal.
	JournalLib = "journal-lib.sh"
	// JournalRead prints a run's journal and, optionally, a job's status.
	JournalRead = "journal-read.sh"
	// Facts prints the host facts as one JSON document (see HostFacts).
	Facts = "facts.sh"
	// Backup copies the files a migration may change and prints a BackupSummary.
	Backup = "backup.sh"
	// Kernel writes the modules-load.d and sysctl.d files and applies them.
	Kernel = "kernel.sh"
	// Install installs the target runtime and prints an InstallResult.
	Install = "install.sh"
	// Swap is the detached job that swaps the runtime, or rolls it back.
	Swap = "swap.sh"
	// Cleanup removes docker's packages and, on request, its data after a migration.
	Cleanup = "cleanup.sh"
	// ProbeSource tells whether the host reaches the runtime's package source.
	ProbeSource = "probe-source.sh"
	// PodLogCheck tells the format of a container's log under /var/log/pods.
	PodLogCheck = "pod-log-check.sh"
	// CopyCerts copies docker's per-registry certificates to the new runtime.
	CopyCerts = "copy-certs.sh"
	// ReportFiles prints a run's backed-up files before and after, for --report.
	ReportFiles = "report-files.sh"
	// CarryImages copies images from docker's store into the new runtime's
	// and prints a CarryResult.
	CarryImages = "carry-images.sh"
)

// Get returns the text of an embedded script. It panics on an unknown name,
// which is a programming error caught by the package tests.
func Get(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("hostscripts: no embedded script %q", name))
	}
	return string(b)
}
