package hostconf

import (
	"testing"

	"github.com/BurntSushi/toml"
)

type crioDropIn struct {
	Crio struct {
		Runtime struct {
			DefaultRuntime string `toml:"default_runtime"`
			Runtimes       map[string]struct {
				RuntimePath string `toml:"runtime_path"`
				RuntimeRoot string `toml:"runtime_root"`
				MonitorPath string `toml:"monitor_path"`
			} `toml:"runtimes"`
		} `toml:"runtime"`
	} `toml:"crio"`
}

func decodeCrioDropIn(t *testing.T, out Output) crioDropIn {
	t.Helper()
	for _, f := range out.Files {
		if f.Path == CrioDropIn {
			var d crioDropIn
			if _, err := toml.Decode(string(f.Content), &d); err != nil {
				t.Fatalf("%v\n%s", err, f.Content)
			}
			return d
		}
	}
	t.Fatalf("no %s in the output", CrioDropIn)
	return crioDropIn{}
}

// CRI-O looks conmon up in $PATH for a handler without monitor_path, and
// its packages and bundle put conmon in /usr/libexec/crio: every handler
// crimig writes must name it, or crio refuses to start (issue 15, item 4).
// A drop-in's handler table replaces the package's whole, so the runtime
// path must be there too.
func TestCrioHandlersNameTheirConmon(t *testing.T) {
	for _, c := range translateCases {
		if c.target != TargetCRIO {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			out, err := Translate(c.input(t))
			if err != nil {
				t.Fatal(err)
			}
			d := decodeCrioDropIn(t, out)
			for name, h := range d.Crio.Runtime.Runtimes {
				if h.MonitorPath == "" || h.RuntimePath == "" {
					t.Errorf("handler %s: monitor_path %q, runtime_path %q; want both set", name, h.MonitorPath, h.RuntimePath)
				}
			}
		})
	}
}

func TestCrioHandlersFollowTheInstalledLayout(t *testing.T) {
	c := translateCases[0]
	for _, tc := range []struct {
		paths       CRIOPaths
		conmon, run string
	}{
		{CRIOPaths{}, "/usr/libexec/crio/conmon", "/usr/libexec/crio/runc"},
		{CRIOPaths{Conmon: "/usr/bin/conmon", Runc: "/usr/bin/runc"}, "/usr/bin/conmon", "/usr/bin/runc"},
	} {
		in := c.input(t)
		in.Options.CRIO = tc.paths
		out, err := Translate(in)
		if err != nil {
			t.Fatal(err)
		}
		d := decodeCrioDropIn(t, out)
		runc, ok := d.Crio.Runtime.Runtimes["runc"]
		if d.Crio.Runtime.DefaultRuntime != "runc" || !ok || runc.MonitorPath != tc.conmon || runc.RuntimePath != tc.run || runc.RuntimeRoot == "" {
			t.Errorf("paths %+v: default %q, runc handler %+v; want runc at %s with conmon %s", tc.paths,
				d.Crio.Runtime.DefaultRuntime, runc, tc.run, tc.conmon)
		}
	}
}
