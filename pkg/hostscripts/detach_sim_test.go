package hostscripts

import (
	"strings"
	"testing"
)

// TestDetachedJobGetsItsParametersUnderSystemd: systemd-run gives the job a
// clean environment (the simulator's stub does too), so the job sees only
// what detach.sh hands it: its run id and the variables the caller named,
// and nothing else of the exec's environment.
func TestDetachedJobGetsItsParametersUnderSystemd(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	script := `crimig_journal probe "done" "run=${CRIMIG_RUN_ID-unset} what=${WHAT-unset} stray=${CRIMIG_JOB_SCRIPT:+leaked}"`
	entries := s.detach("r1", "probe", script, "WHAT=it's time")
	var got []string
	for _, e := range entries {
		if e.Step == "probe" {
			got = append(got, e.Message)
		}
	}
	if want := "run=r1 what=it's time stray="; strings.Join(got, "|") != want {
		t.Errorf("the job saw %q, want %q (journal %v)", got, want, entries)
	}
	if e := entries[len(entries)-1]; e.String() != "exited 0" {
		t.Errorf("the job ended %v", entries)
	}
}
