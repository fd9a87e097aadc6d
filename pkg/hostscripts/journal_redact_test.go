package hostscripts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A journal message that quotes a URL keeps no password.
func TestJournalRedactsURLUserinfo(t *testing.T) {
	for name, sh := range shells(t) {
		t.Run(name, func(t *testing.T) {
			journal := filepath.Join(t.TempDir(), "journal.jsonl")
			script := Get(JournalLib) + "\ncrimig_journal install failed \"cannot reach https://bob:S3CRET@m.example/x/\"\n"
			cmd := sh("-c", script)
			cmd.Env = append(cmd.Env, "CRIMIG_JOURNAL="+journal)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got, _ := os.ReadFile(journal)
			if strings.Contains(string(got), "S3CRET") || !strings.Contains(string(got), "https://<redacted>@m.example/x/") {
				t.Errorf("journal = %s", got)
			}
		})
	}
}
