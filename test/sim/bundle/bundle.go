// Package bundle writes a CRI-O offline bundle for tests: the layout of the
// project's static release tarball (cri-o/install, bin/, cni-plugins/,
// contrib/, etc/), with shell shims to the simulator's stubs as binaries.
package bundle

import (
	"archive/tar"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

//go:embed install.sh
var installScript string

// Binaries in the bundle's bin/, mapped to the stub applet that plays them.
var binaries = map[string]string{
	"crio": "crio", "pinns": "pinns", "conmon": "conmon", "conmonrs": "conmon",
	"crun": "crun", "runc": "runc", "crictl": "crictl",
}

func shim(name, applet, version string) string {
	return fmt.Sprintf("#!/bin/sh\n# Stand-in for the static %s binary of the CRI-O %s bundle (crimig node simulator).\n"+
		"CRIMIG_SIM_BUNDLE_VERSION=%s exec %s %s \"$@\"\n", name, version, version, host.PersistLib, applet)
}

// Write writes cri-o.amd64.v<version>.tar.gz content to w.
func Write(w io.Writer, version string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	files := []struct {
		name, body string
		mode       int64
	}{{"cri-o/install", installScript, 0o755}}
	for name, applet := range binaries {
		files = append(files, struct {
			name, body string
			mode       int64
		}{"cri-o/bin/" + name, shim(name, applet, version), 0o755})
	}
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		files = append(files, struct {
			name, body string
			mode       int64
		}{"cri-o/cni-plugins/" + p, "#!/bin/sh\necho \"CNI " + p + " plugin v1.4.0\"\n", 0o755})
	}
	unit := strings.ReplaceAll(host.CrioUnitFile, "/usr/bin/crio", "/usr/local/bin/crio")
	for name, body := range map[string]string{
		"cri-o/contrib/crio.service":                 unit,
		"cri-o/contrib/policy.json":                  host.PolicyJSON,
		"cri-o/contrib/registries.conf":              host.RegistriesDefault,
		"cri-o/contrib/11-crio-ipv4-bridge.conflist": host.CrioBridgeCNI,
		"cri-o/etc/10-crio.conf":                     host.CrioDefaultConf,
		"cri-o/etc/crictl.yaml":                      "runtime-endpoint: unix:///var/run/crio/crio.sock\n",
		"cri-o/VERSION":                              version + "\n",
		"cri-o/VERSION.env":                          "CRIO_VERSION=" + version + "\n",
	} {
		files = append(files, struct {
			name, body string
			mode       int64
		}{name, body, 0o644})
	}
	now := time.Now()
	for _, d := range []string{"cri-o/", "cri-o/bin/", "cri-o/cni-plugins/", "cri-o/contrib/", "cri-o/etc/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now}); err != nil {
			return err
		}
	}
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
