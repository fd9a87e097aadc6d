// Command crimig-bench is the helper of hack/bench/scale.sh: it fills a bare
// API server with a fleet of realistic shape, times commands (wall time and
// peak RSS, medians of several runs), and measures the CPU a TUI uses under a
// pseudo-terminal while Node status updates arrive. It is no part of the
// kubectl-crimig binary.
//
// Usage:
//
//	crimig-bench fill   --kubeconfig FILE --nodes N --pods M [--replicasets R]
//	crimig-bench time   --runs 3 --label NAME -- COMMAND [ARG...]
//	crimig-bench status --kubeconfig FILE --rate R --seconds S -- COMMAND [ARG...]
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "fill":
		err = runFill(os.Args[2:])
	case "time":
		err = runTime(os.Args[2:])
	case "status":
		err = runStatus(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: crimig-bench fill|time|status [flags] (see hack/bench/scale.sh)")
	os.Exit(2)
}

// parse parses args with fs and returns what follows "--".
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}
