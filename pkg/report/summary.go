package report

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/crimig/kubectl-crimig/pkg/migrate"
	"github.com/crimig/kubectl-crimig/pkg/redact"
)

// maxFileBytes bounds one host file in the bundle; configuration files are
// far smaller.
const maxFileBytes = 4 << 20

// untarBase64 reads the host script's base64 tar into absolute host paths.
func untarBase64(b64 []byte) (map[string][]byte, error) {
	files := map[string][]byte{}
	raw := bytes.TrimSpace(b64)
	if len(raw) == 0 {
		return files, nil
	}
	data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(raw)))
	if err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > maxFileBytes {
			return nil, fmt.Errorf("%s is %d bytes, more than a configuration file should be", h.Name, h.Size)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[path.Clean("/"+strings.TrimPrefix(h.Name, "./"))] = body
	}
}

// writeSummary writes summary.json and summary.md.
func (b *Bundle) writeSummary(nodes []NodeReport, runErr error) error {
	finished := b.now()
	b.mu.Lock()
	fleet := append([]migrate.Event(nil), b.events[""]...)
	b.mu.Unlock()
	outcome := "succeeded"
	if runErr != nil {
		outcome = "failed: " + redact.Text(runErr.Error())
	}
	var waves []string
	for _, ev := range fleet {
		if ev.Step == migrate.StepFleet && strings.HasPrefix(ev.Message, "wave ") {
			waves = append(waves, ev.Time.UTC().Format(time.RFC3339)+" "+ev.Message)
		}
	}
	doc := map[string]any{
		"command": strings.Join(b.run.Command, " "), "identity": b.run.Identity, "target": b.run.Target,
		"started": b.started.UTC(), "finished": finished.UTC(), "outcome": outcome, "waves": waves, "nodes": nodes,
	}
	if err := writeJSON(filepath.Join(b.Dir, "summary.json"), doc); err != nil {
		return err
	}

	var md strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&md, format, args...) }
	w("# crimig migration report\n\n")
	w("| | |\n|---|---|\n")
	w("| Command | `%s` |\n", strings.Join(b.run.Command, " "))
	w("| Run by | %s |\n", b.run.Identity)
	w("| Target runtime | %s |\n", b.run.Target)
	w("| Started | %s |\n", b.started.UTC().Format(time.RFC3339))
	w("| Finished | %s (%s) |\n", finished.UTC().Format(time.RFC3339), finished.Sub(b.started).Round(time.Second))
	w("| Outcome | %s |\n", mdCell(outcome))
	w("| Nodes | %d |\n\n", len(nodes))
	if len(waves) > 0 {
		w("## Waves\n\n")
		for _, wv := range waves {
			w("- %s\n", wv)
		}
		w("\n")
	}
	w("## Nodes\n\n")
	w("| Node | Run | Result | Runtime now | Total | Drain | Swap | Verified |\n|---|---|---|---|---|---|---|---|\n")
	for _, n := range nodes {
		w("| %s | %s | %s | %s | %s | %s | %s | %s |\n", n.Node, n.RunID, mdCell(resultOf(n)), n.Runtime,
			secs(n.Total), secs(stepSeconds(n, "drain")), secs(stepSeconds(n, "swap")+stepSeconds(n, "verify")), verified(n.Verification))
	}
	for _, n := range nodes {
		w("\n### %s\n\n", n.Node)
		if n.Error != "" {
			w("Error: %s\n\n", mdCell(n.Error))
		}
		for _, warning := range n.Warnings {
			w("Warning: %s\n\n", mdCell(warning))
		}
		w("Evidence in `%s/`: plan.json (the plan it was migrated with), events.jsonl, timings.json, journal.jsonl (the host job), "+
			"manifest.tsv, files/before/, files/after/, files.diff, verification.json.\n\n", safeName(n.Node))
		if len(n.FilesChanged)+len(n.FilesCreated) > 0 {
			w("Files changed: %s\n\n", codeList(n.FilesChanged))
			w("Files created: %s\n\n", codeList(n.FilesCreated))
		}
		if len(n.Withheld) > 0 {
			w("Withheld from the bundle (private keys, credentials; checksums in manifest.tsv): %s\n\n", codeList(n.Withheld))
		}
		if v := n.Verification; v != nil {
			w("Smoke test: pod %s, image `%s` running after %.1fs; logs %s; exec %s; %s is in %s format.\n\n",
				v.Pod, v.Image, v.PullSeconds, okWord(v.Logs), okWord(v.Exec), v.LogFile, v.LogFormat)
		}
		if len(n.Steps) > 0 {
			w("| Step | Result | Seconds |\n|---|---|---|\n")
			for _, s := range n.Steps {
				w("| %s | %s | %.1f |\n", s.Step, s.Result, s.Seconds)
			}
			w("\n")
		}
		for _, p := range n.Problems {
			w("- Not in the bundle: %s\n", mdCell(p))
		}
	}
	return os.WriteFile(filepath.Join(b.Dir, "summary.md"), []byte(md.String()), 0o640)
}

func resultOf(n NodeReport) string {
	switch {
	case n.Phase != "":
		return n.Phase
	case n.Error != "":
		return "failed"
	}
	return "not started"
}

func stepSeconds(n NodeReport, step string) float64 {
	for _, s := range n.Steps {
		if s.Step == step {
			return s.Seconds
		}
	}
	return 0
}

func secs(s float64) string {
	if s == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fs", s)
}

func verified(v *migrate.Verification) string {
	if v == nil {
		return "no"
	}
	return "yes (" + v.LogFormat + " logs)"
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}

func codeList(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = "`" + s + "`"
	}
	return strings.Join(out, ", ")
}

// mdCell keeps a message on one table line.
func mdCell(s string) string {
	return strings.NewReplacer("\n", " ", "|", "\\|").Replace(s)
}
