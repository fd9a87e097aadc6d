package applets

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/crimig/kubectl-crimig/test/sim/bundle"
	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// The simulated hosts have no network: curl and wget are stubs that serve
// the few package-repository URLs a migration fetches (signing keys, .repo
// files, CRI-O release bundles) from a simulated internet, and fail like
// an unreachable host for anything else. A root with /var/lib/sim/offline
// is air-gapped: every download fails.

// OfflineFile marks an air-gapped host.
const OfflineFile = "/var/lib/sim/offline"

var knownHosts = []string{"pkgs.k8s.io", "download.opensuse.org", "download.docker.com", "storage.googleapis.com", "github.com"}

const fakeKey = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mQENBGMHoXcBCADukGOEQyleViOgtkMVa7hKifP6POCTh+98xNW4TfHK/nBJN2sm
c2ltdWxhdGVkIHJlcG9zaXRvcnkgc2lnbmluZyBrZXkgZm9yIHRoZSBjcmltaWcg
c2FuZGJveDsgbm90IGEgcmVhbCBrZXku
=sIm1
-----END PGP PUBLIC KEY BLOCK-----
`

var bundleRE = regexp.MustCompile(`cri-o\.amd64\.v(\d+\.\d+\.\d+)\.tar\.gz$`)

// download returns the body served at rawURL, or a curl-style error code
// and message.
func download(h *host.Host, rawURL string) ([]byte, int, string) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, 3, "URL rejected: Malformed input to a URL function"
	}
	if h.Exists(OfflineFile) || !simulatedHost(u.Hostname()) {
		return nil, 6, fmt.Sprintf("Could not resolve host: %s", u.Hostname())
	}
	p := u.Path
	switch {
	case strings.HasSuffix(p, ".key") || strings.HasSuffix(p, "/gpg") || strings.HasSuffix(p, ".gpg") || strings.HasSuffix(p, ".asc"):
		return []byte(fakeKey), 0, ""
	case strings.HasSuffix(p, ".repo"):
		return []byte(repoFile(u)), 0, ""
	case bundleRE.MatchString(p):
		var b bytes.Buffer
		if err := bundle.Write(&b, bundleRE.FindStringSubmatch(p)[1]); err != nil {
			return nil, 56, err.Error()
		}
		return b.Bytes(), 0, ""
	}
	return nil, 22, "The requested URL returned error: 404"
}

func simulatedHost(name string) bool {
	if strings.HasSuffix(name, ".corp.example") {
		return true
	}
	for _, k := range knownHosts {
		if name == k {
			return true
		}
	}
	return false
}

// repoFile is the .repo file that openSUSE's build service serves next to a
// repository.
func repoFile(u *url.URL) string {
	name := strings.TrimSuffix(path.Base(u.Path), ".repo")
	dir := *u
	dir.Path = path.Dir(u.Path) + "/"
	id := strings.NewReplacer(":", "_", "/", "_").Replace(name)
	return fmt.Sprintf("[%s]\nname=%s\ntype=rpm-md\nbaseurl=%s\ngpgcheck=1\ngpgkey=%srepodata/repomd.xml.key\nenabled=1\n", id, name, dir.String(), dir.String())
}

// curl [-fsSLk] [-o FILE|-O] [--retry N] [-m N] URL
func curl(e *Env, args []string) int {
	var out, rawURL string
	remoteName, fail := false, false
	valueFlags := map[string]bool{"--retry": true, "--connect-timeout": true, "-m": true, "--max-time": true, "-H": true, "--header": true, "-A": true, "--user-agent": true, "--retry-delay": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-o" || a == "--output":
			if i+1 < len(args) {
				out = args[i+1]
				i++
			}
		case a == "-O" || a == "--remote-name":
			remoteName = true
		case a == "--fail" || a == "-f":
			fail = true
		case valueFlags[a]:
			i++
		case strings.HasPrefix(a, "--"):
		case strings.HasPrefix(a, "-"):
			fail = fail || strings.Contains(a, "f")
			if strings.HasSuffix(a, "o") && i+1 < len(args) {
				out = args[i+1]
				i++
			}
			remoteName = remoteName || strings.HasSuffix(a, "O")
		default:
			rawURL = a
		}
	}
	body, code, msg := download(e.Host, rawURL)
	if code != 0 {
		if code != 22 || fail {
			e.errf("curl: (%d) %s", code, msg)
			return code
		}
		body = []byte("<html><body>404 Not Found</body></html>\n")
	}
	if remoteName {
		out = path.Base(rawURL)
	}
	return writeBody(e, out, body, "curl")
}

// wget [-q] [-O FILE] [-T N] URL
func wget(e *Env, args []string) int {
	var out, rawURL string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-O" && i+1 < len(args):
			out = args[i+1]
			i++
		case a == "-T" || a == "-t" || a == "--tries" || a == "--timeout":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			rawURL = a
		}
	}
	if out == "" {
		out = path.Base(rawURL)
	}
	body, code, msg := download(e.Host, rawURL)
	if code != 0 {
		if code == 6 {
			u, _ := url.Parse(rawURL)
			e.errf("wget: bad address '%s'", u.Hostname())
		} else {
			e.errf("wget: server returned error: HTTP/1.1 404 Not Found (%s)", msg)
		}
		return 1
	}
	return writeBody(e, out, body, "wget")
}

func writeBody(e *Env, out string, body []byte, tool string) int {
	if out == "" || out == "-" {
		_, _ = io.Copy(e.Stdout, bytes.NewReader(body))
		return 0
	}
	if err := os.WriteFile(out, body, 0o644); err != nil {
		e.errf("%s: %v", tool, err)
		if tool == "curl" {
			return 23
		}
		return 1
	}
	return 0
}
