package host

import (
	"strings"
	"testing"
)

func TestCheckCrio(t *testing.T) {
	for _, tc := range []struct {
		name, dropIn, registries, wantErr string
		libexecConmon                     bool // conmon only in /usr/libexec/crio, as CRI-O's packages put it
	}{
		{"defaults", "", "", "", false},
		{"cgroupfs with pod conmon cgroup", "[crio.runtime]\ncgroup_manager = \"cgroupfs\"\nconmon_cgroup = \"pod\"\n", "", "", false},
		{"cgroupfs with a slice", "[crio.runtime]\ncgroup_manager = \"cgroupfs\"\nconmon_cgroup = \"system.slice\"\n", "", "conmon cgroup should be 'pod'", false},
		{"unknown cgroup manager", "[crio.runtime]\ncgroup_manager = \"cgroupv2\"\n", "", "invalid cgroup manager", false},
		{"bad TOML", "[crio.runtime\n", "", "90-crimig.conf", false},
		{"string for a list", "[crio.image]\ninsecure_registries = \"registry.corp.example:5000\"\n", "", "90-crimig.conf", false},
		{"default runtime without entry", "[crio.runtime]\ndefault_runtime = \"nvidia\"\n", "", "no runtime entry", false},
		{"runtime path missing", "[crio.runtime.runtimes.nvidia]\nruntime_path = \"/usr/bin/nvidia-container-runtime\"\n", "", "invalid runtime_path", false},
		{"mirror", "", "unqualified-search-registries = [\"docker.io\"]\n[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"mirror.corp.example\"\n", "", false},
		{"insecure registry", "", "[[registry]]\nlocation = \"registry.corp.example:5000\"\ninsecure = true\n", "", false},
		{"mixed v1 and v2", "", "unqualified-search-registries = [\"docker.io\"]\n[registries.search]\nregistries = [\"docker.io\"]\n", "mixing sysregistry v1/v2", false},
		{"registry without location", "", "[[registry]]\ninsecure = true\n", "both location and prefix are unset", false},
		{"bad short-name mode", "", "short-name-mode = \"lenient\"\n", "invalid short-name mode", false},
		{"handler without monitor_path, conmon in libexec", runcNooom, "",
			`failed to translate monitor fields for runtime runc-nooom: exec: "conmon": executable file not found in $PATH`, true},
		{"handler with monitor_path", runcNooom + "monitor_path = \"/usr/libexec/crio/conmon\"\n" +
			"[crio.runtime.runtimes.crun]\nmonitor_path = \"/usr/libexec/crio/conmon\"\n", "", "", true},
		{"built-in crun without conmon on $PATH", "", "", `runtime crun: exec: "conmon": executable file not found`, true},
		{"monitor_path that does not exist", runcNooom + "monitor_path = \"/usr/bin/conmon\"\n" +
			"[crio.runtime.runtimes.crun]\nmonitor_path = \"/usr/libexec/crio/conmon\"\n", "", "invalid conmon path: stat /usr/bin/conmon", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(t.TempDir())
			conmon := "/usr/bin/conmon"
			if tc.libexecConmon {
				conmon = "/usr/libexec/crio/conmon"
			}
			_ = h.Write(conmon, "#!/bin/sh\n")
			_ = h.Write("/usr/local/bin/runc-nooom", "#!/bin/sh\n")
			if tc.dropIn != "" {
				_ = h.Write("/etc/crio/crio.conf.d/90-crimig.conf", tc.dropIn)
			}
			if tc.registries != "" {
				_ = h.Write("/etc/containers/registries.conf.d/90-crimig.conf", tc.registries)
			}
			err := h.CheckCrio()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

const runcNooom = "[crio.runtime]\ndefault_runtime = \"runc-nooom\"\n[crio.runtime.runtimes.runc-nooom]\nruntime_path = \"/usr/local/bin/runc-nooom\"\n"

func TestCheckDaemonJSON(t *testing.T) {
	for content, wantErr := range map[string]string{
		`{"registry-mirrors": ["https://m.corp.example"], "live-restore": true}`: "",
		`{"registry-mirrors": ["https://m.corp.example"],}`:                      "unable to configure the Docker daemon",
		`{"registry-mirror": ["https://m.corp.example"]}`:                        "don't match any configuration option: registry-mirror",
	} {
		h := New(t.TempDir())
		_ = h.Write("/etc/docker/daemon.json", content)
		err := h.CheckDaemonJSON()
		if (wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%s: err %v, want %q", content, err, wantErr)
		}
	}
}
