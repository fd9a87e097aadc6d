package hostscripts

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"
)

// TestReportFiles backs files up, changes them, and reads both versions
// back the way migrate --report does; keys never leave the host.
func TestReportFiles(t *testing.T) {
	s := newSimHost(t, "centos7")
	before := s.mustSh("cat /var/lib/kubelet/kubeadm-flags.env")
	s.write("/etc/containers/certs.d/r.example/client.key", "old key\n", 0o600)
	paths := "/var/lib/kubelet/kubeadm-flags.env\n/etc/crio/crio.conf.d/90-crimig.conf\n/etc/containers/certs.d/r.example/client.key"
	s.mustSh(Get(Backup), "CRIMIG_RUN_ID=run-r", "CRIMIG_BACKUP_PATHS="+paths)
	s.write("/var/lib/kubelet/kubeadm-flags.env", "KUBELET_KUBEADM_ARGS=\"\"\n", 0o644)
	s.write("/etc/crio/crio.conf.d/90-crimig.conf", "[crio]\n", 0o644)
	s.write("/etc/containers/certs.d/r.example/client.key", "new key\n", 0o600)

	out := s.mustSh(Get(ReportFiles), "CRIMIG_RUN_ID=run-r")
	sections := map[string]string{}
	cur := ""
	for _, line := range strings.SplitAfter(out, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "--- "); ok {
			cur = name
			continue
		}
		sections[cur] += line
	}
	if !strings.Contains(sections["manifest"], "/etc/crio/crio.conf.d/90-crimig.conf\tabsent\t-") {
		t.Errorf("manifest:\n%s", sections["manifest"])
	}
	b := untar(t, sections["before"])
	a := untar(t, sections["after"])
	if b["var/lib/kubelet/kubeadm-flags.env"] != before || a["var/lib/kubelet/kubeadm-flags.env"] != "KUBELET_KUBEADM_ARGS=\"\"\n" {
		t.Errorf("kubeadm-flags.env before %q after %q", b["var/lib/kubelet/kubeadm-flags.env"], a["var/lib/kubelet/kubeadm-flags.env"])
	}
	if _, ok := b["etc/crio/crio.conf.d/90-crimig.conf"]; ok || a["etc/crio/crio.conf.d/90-crimig.conf"] != "[crio]\n" {
		t.Errorf("created file: before %v, after %q", b, a["etc/crio/crio.conf.d/90-crimig.conf"])
	}
	if len(b) != 1 || len(a) != 2 {
		t.Errorf("a key file reached the output: before %v after %v", b, a)
	}

	if _, err := s.sh(Get(ReportFiles), "CRIMIG_RUN_ID=no-such-run"); err == nil || exitCode(err) != 1 {
		t.Errorf("a run without backup: %v", err)
	}
	if _, err := s.sh(Get(ReportFiles), "CRIMIG_RUN_ID=../etc"); err == nil || exitCode(err) != 2 {
		t.Errorf("a bad run id: %v", err)
	}
}

func untar(t *testing.T, b64 string) map[string]string {
	t.Helper()
	files := map[string]string{}
	if strings.TrimSpace(b64) == "" {
		return files
	}
	raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.TrimSpace(b64), "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		files[h.Name] = string(body)
	}
}
