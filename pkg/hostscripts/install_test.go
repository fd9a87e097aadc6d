package hostscripts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	simbundle "github.com/crimig/kubectl-crimig/test/sim/bundle"
)

func installEnv(kv ...string) []string {
	return append([]string{"CRIMIG_RUN_ID=r1"}, kv...)
}

func (s *simHost) install(kv ...string) (*InstallResult, string, error) {
	s.t.Helper()
	out, err := s.sh(Get(Install), installEnv(kv...)...)
	if err != nil {
		return nil, out, err
	}
	r, perr := ParseInstallResult([]byte(out))
	if perr != nil {
		s.t.Fatalf("%v\n%s", perr, out)
	}
	return r, out, nil
}

func TestInstallFailsClearlyWithoutARepo(t *testing.T) {
	s := newSimHost(t, "rocky9")
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"CRIMIG_SOURCE=repo"}, "CRIMIG_SOURCE=repo needs CRIMIG_REPO_URL"},
		{[]string{"CRIMIG_SOURCE=pkgs"}, "CRIMIG_TARGET_VERSION must be a CRI-O version"},
		{[]string{"CRIMIG_SOURCE=bundle"}, "CRIMIG_SOURCE=bundle needs CRIMIG_BUNDLE"},
		{[]string{"CRIMIG_SOURCE=repo", "CRIMIG_REPO_URL=https://mirror.example/empty/", "CRIMIG_REPO_INSECURE=1"},
			"dnf could not install cri-o from https://mirror.example/empty/"},
	} {
		_, out, err := s.install(c.env...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%v: err=%v, output lacks %q:\n%s", c.env, err, c.want, out)
		}
	}
	if s.H.PkgVersion("cri-o") != "" {
		t.Error("cri-o got installed")
	}
}

func TestInstallCrioFromPkgsK8sIo(t *testing.T) {
	s := newSimHost(t, "rocky9")
	r, out, err := s.install("CRIMIG_SOURCE=pkgs", "CRIMIG_TARGET=cri-o", "CRIMIG_TARGET_VERSION=v1.29", "CRIMIG_PODMAN=1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := &InstallResult{Installed: true, Method: "pkgs", Binary: "/usr/bin/crio", Version: "1.29.6", Podman: "installed",
		Files: []string{"/etc/yum.repos.d/crimig-cri-o.repo"}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	repo, _ := s.read("/etc/yum.repos.d/crimig-cri-o.repo")
	for _, line := range []string{"baseurl=https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.29/rpm/", "gpgcheck=1",
		"gpgkey=https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.29/rpm/repodata/repomd.xml.key"} {
		if !strings.Contains(repo, line+"\n") {
			t.Errorf("repo file lacks %q:\n%s", line, repo)
		}
	}
	if s.H.PkgVersion("podman") == "" {
		t.Error("podman was not installed")
	}
	// Again: already there, nothing written.
	r, out, err = s.install("CRIMIG_SOURCE=pkgs", "CRIMIG_TARGET_VERSION=1.29")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want = &InstallResult{Method: "present", Binary: "/usr/bin/crio", Version: "1.29.6", Podman: "present", Files: []string{}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("second result (-want +got):\n%s", diff)
	}
}

// A mirror without podman: the runtime is installed, and the result says
// podman failed, for the engine to warn about.
func TestInstallReportsAPodmanThatFailed(t *testing.T) {
	s := newSimHost(t, "rocky9")
	s.setMeta("podmanVersion", "")
	r, out, err := s.install("CRIMIG_SOURCE=pkgs", "CRIMIG_TARGET_VERSION=1.29", "CRIMIG_PODMAN=1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Podman != PodmanFailed || !r.Installed || s.H.PkgVersion("cri-o") == "" || s.H.PkgVersion("podman") != "" {
		t.Errorf("result %+v, cri-o %q, podman %q", r, s.H.PkgVersion("cri-o"), s.H.PkgVersion("podman"))
	}
}

func TestInstallCrioWithYum(t *testing.T) {
	s := newSimHost(t, "centos7")
	r, out, err := s.install("CRIMIG_SOURCE=pkgs", "CRIMIG_TARGET_VERSION=1.22.3", "CRIMIG_PODMAN=1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := &InstallResult{Installed: true, Method: "pkgs", Binary: "/usr/bin/crio", Version: "1.22.3", Podman: "installed",
		Files: []string{"/etc/yum.repos.d/crimig-cri-o.repo"}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if repo, _ := s.read("/etc/yum.repos.d/crimig-cri-o.repo"); !strings.Contains(repo, "/v1.22/rpm/") {
		t.Errorf("repo file:\n%s", repo)
	}
}

func TestInstallCrioFromAMirrorWithApt(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	// The key would be downloaded from <mirror>/Release.key; the sandbox has no network.
	s.write("/etc/apt/keyrings/crimig-cri-o.asc", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n", 0o644)
	r, out, err := s.install("CRIMIG_SOURCE=repo", "CRIMIG_REPO_URL=https://mirror.corp.example/cri-o/v1.33/deb",
		"CRIMIG_TARGET_VERSION=1.33", "CRIMIG_PODMAN=0")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := &InstallResult{Installed: true, Method: "repo", Binary: "/usr/bin/crio", Version: "1.33.2", Podman: "skipped",
		Files: []string{"/etc/apt/sources.list.d/crimig-cri-o.list"}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	list, _ := s.read("/etc/apt/sources.list.d/crimig-cri-o.list")
	if list != "deb [signed-by=/etc/apt/keyrings/crimig-cri-o.asc] https://mirror.corp.example/cri-o/v1.33/deb/ /\n" {
		t.Errorf("sources list = %q", list)
	}
	if strings.Contains(out[strings.LastIndex(out, "{"):], "Setting up") {
		t.Errorf("package manager output on the result line: %s", out)
	}
}

func TestInstallCrioFromPkgsK8sIoWithApt(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	// Air-gapped: the signing key cannot be fetched, and the message says where to put it.
	s.write("/var/lib/sim/offline", "", 0o644)
	if _, out, err := s.install("CRIMIG_SOURCE=pkgs", "CRIMIG_TARGET_VERSION=1.33"); err == nil ||
		!strings.Contains(out, "cannot download the signing key https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/deb/Release.key; put it at /etc/apt/keyrings/crimig-cri-o.asc") {
		t.Errorf("offline install: err=%v\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(s.Root, "var/lib/sim/offline")); err != nil {
		t.Fatal(err)
	}
	r, out, err := s.install("CRIMIG_SOURCE=pkgs", "CRIMIG_TARGET_VERSION=1.33", "CRIMIG_PODMAN=1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := &InstallResult{Installed: true, Method: "pkgs", Binary: "/usr/bin/crio", Version: "1.33.2", Podman: "installed",
		Files: []string{"/etc/apt/keyrings/crimig-cri-o.asc", "/etc/apt/sources.list.d/crimig-cri-o.list"}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	list, _ := s.read("/etc/apt/sources.list.d/crimig-cri-o.list")
	if list != "deb [signed-by=/etc/apt/keyrings/crimig-cri-o.asc] https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/deb/ /\n" {
		t.Errorf("sources list = %q", list)
	}
	if key, _ := s.read("/etc/apt/keyrings/crimig-cri-o.asc"); !strings.HasPrefix(key, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		t.Errorf("keyring = %q", key)
	}
}

// tarball builds a .tar.gz from name -> (content, mode).
func tarball(t *testing.T, files map[string]stagedFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: int64(f.mode), Size: int64(len(f.content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInstallCrioFromBundleThenSwap(t *testing.T) {
	s := newSimHost(t, "rocky9")
	// The simulator's copy of CRI-O's static bundle: cri-o/install, bin/,
	// cni-plugins/, contrib/crio.service, etc/.
	var bundle bytes.Buffer
	if err := simbundle.Write(&bundle, "1.31.4"); err != nil {
		t.Fatal(err)
	}
	const uploaded = "/var/lib/crimig/r1/bundle/cri-o.amd64.v1.31.4.tar.gz"
	s.write(uploaded, bundle.String(), 0o600)
	r, out, err := s.install("CRIMIG_SOURCE=bundle", "CRIMIG_BUNDLE="+uploaded, "CRIMIG_TARGET_VERSION=1.31", "CRIMIG_PODMAN=1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := &InstallResult{Installed: true, Method: "bundle", Binary: "/usr/local/bin/crio", Version: "1.31.4", Podman: "skipped", Files: []string{}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if _, ok := s.read("/var/lib/crimig/r1/bundle/unpacked/cri-o/install"); !ok {
		t.Error("the bundle was not unpacked under the run's state directory")
	}
	// The engine uploads the tarball into <run>/bundle/; unpacking must keep it.
	if _, ok := s.read(uploaded); !ok {
		t.Error("unpacking removed the uploaded bundle")
	}

	// The swap then runs the bundle's crio, from its unit in /usr/local.
	paths := []string{"/etc/docker/daemon.json"}
	for p := range crioFiles() {
		paths = append(paths, p)
	}
	s.mustSh(Get(Backup), "CRIMIG_RUN_ID=r1", "CRIMIG_BACKUP_PATHS="+strings.Join(paths, "\n"))
	for p, f := range crioFiles() {
		s.write("/var/lib/crimig/r1/staged"+p, f.content, f.mode)
	}
	s.swapJob("swap", "swap", "swap done")
	checkOnCrio(t, s)
}

func TestInstallContainerdFromBundle(t *testing.T) {
	s := newSimHost(t, "rocky9")
	r, out, err := s.install("CRIMIG_TARGET=containerd", "CRIMIG_SOURCE=pkgs", "CRIMIG_TARGET_VERSION=1.7")
	if err != nil || r.Installed || r.Method != "present" || r.Binary != "/usr/bin/containerd" {
		t.Fatalf("docker's containerd.io should count as present: %+v %v\n%s", r, err, out)
	}
	// A host without containerd: take docker's away.
	s.mustSh("dnf remove -y docker-ce containerd.io")
	bundle := tarball(t, map[string]stagedFile{
		"bin/containerd":              {"#!/bin/sh\necho 'containerd github.com/containerd/containerd/v2 v2.1.4 abc'\n", 0o755},
		"bin/ctr":                     {"#!/bin/sh\necho ctr\n", 0o755},
		"bin/containerd-shim-runc-v2": {"#!/bin/sh\necho shim\n", 0o755},
	})
	s.write("/var/lib/crimig/r1/bundle/containerd.tar.gz", string(bundle), 0o600)
	s.write("/var/lib/crimig/r1/bundle/runc", "#!/bin/sh\necho 'runc version 1.3.0'\n", 0o600)
	r, out, err = s.install("CRIMIG_TARGET=containerd", "CRIMIG_SOURCE=bundle", "CRIMIG_TARGET_VERSION=2.1",
		"CRIMIG_BUNDLE=/var/lib/crimig/r1/bundle/containerd.tar.gz", "CRIMIG_RUNC=/var/lib/crimig/r1/bundle/runc")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := &InstallResult{Installed: true, Method: "bundle", Binary: "/usr/local/bin/containerd", Version: "2.1.4", Podman: "skipped",
		Files: []string{"/usr/local/lib/systemd/system/containerd.service"}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if _, ok := s.read("/usr/local/sbin/runc"); !ok {
		t.Error("runc was not installed")
	}
	unit, _ := s.read("/usr/local/lib/systemd/system/containerd.service")
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/containerd\n") {
		t.Errorf("containerd.service:\n%s", unit)
	}
}

// uploadBundle puts the simulator's copy of CRI-O's static bundle where the
// engine uploads it and returns its path on the host.
func (s *simHost) uploadBundle(version string) string {
	s.t.Helper()
	var bundle bytes.Buffer
	if err := simbundle.Write(&bundle, version); err != nil {
		s.t.Fatal(err)
	}
	p := "/var/lib/crimig/r1/bundle/cri-o.amd64.v" + version + ".tar.gz"
	s.write(p, bundle.String(), 0o600)
	return p
}

// CRI-O's bundle install script is bash whose first line is not a valid
// "#!": on Debian and Ubuntu, where /bin/sh is dash, only bash runs it.
func TestInstallCrioBundleOnADashHost(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	uploaded := s.uploadBundle("1.33.1")
	r, out, err := s.install("CRIMIG_SOURCE=bundle", "CRIMIG_BUNDLE="+uploaded, "CRIMIG_TARGET_VERSION=1.33")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !r.Installed || r.Binary != "/usr/local/bin/crio" || r.Version != "1.33.1" {
		t.Errorf("result %+v", r)
	}
}

// Without bash the bundle cannot be installed: say so before anything on
// the host changes.
func TestInstallCrioBundleWithoutBash(t *testing.T) {
	s := newSimHost(t, "ubuntu22")
	uploaded := s.uploadBundle("1.33.1")
	s.mustSh("rm /usr/bin/bash")
	_, out, err := s.install("CRIMIG_SOURCE=bundle", "CRIMIG_BUNDLE="+uploaded, "CRIMIG_TARGET_VERSION=1.33")
	if err == nil || !strings.Contains(out, "the CRI-O bundle's install script needs bash, which this host lacks") {
		t.Fatalf("want a clear failure, got %v\n%s", err, out)
	}
	for _, p := range []string{"/usr/local/bin/crio", "/usr/local/lib/systemd/system/crio.service", "/etc/crio/crio.conf.d/10-crio.conf"} {
		if _, ok := s.read(p); ok {
			t.Errorf("%s was installed although the install failed", p)
		}
	}
}
