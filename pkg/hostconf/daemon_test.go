package hostconf

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseDaemonJSONErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"trailing comma", "{\n  \"debug\": true,\n}\n", []string{"daemon.json", "line 3, column 1"}},
		{"unterminated", `{"registry-mirrors": ["https://m"`, []string{"daemon.json", "line 1"}},
		{"not an object", `["a"]`, []string{"top level must be a JSON object"}},
		{"wrong type", `{"exec-opts": "native.cgroupdriver=systemd"}`, []string{`key "exec-opts"`, "want []string"}},
		{"bad ulimit", `{"default-ulimits": {"nofile": {"Soft": "x"}}}`, []string{`key "default-ulimits"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDaemonJSON([]byte(tt.in))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseDaemonJSON(t *testing.T) {
	for _, empty := range []string{"", "  \n", "{}"} {
		c, err := ParseDaemonJSON([]byte(empty))
		if err != nil || c.CgroupDriver() != "" || len(daemonKeyLosses(c)) != 0 {
			t.Errorf("%q: got %+v, %v", empty, c, err)
		}
	}
	c, err := ParseDaemonJSON([]byte(`{"exec-opts": ["native.cgroupdriver = cgroupfs"], "graph": "/srv/docker", "x-unknown": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.CgroupDriver() != "cgroupfs" || c.EffectiveDataRoot() != "/srv/docker" {
		t.Errorf("got driver %q root %q", c.CgroupDriver(), c.EffectiveDataRoot())
	}
	ls := daemonKeyLosses(c)
	if len(ls) != 1 || ls[0].Key != "x-unknown" || ls[0].Severity != LossWarning {
		t.Errorf("unknown key losses: %+v", ls)
	}
}

func TestRedactValue(t *testing.T) {
	tests := []struct{ key, in, want string }{
		{"proxies", `{"http-proxy":"http://u:p@proxy:3128"}`, `{"http-proxy":"http://<redacted>@proxy:3128"}`},
		{"registry-auths", "abc", "<redacted>"},
		{"x_password", "abc", "<redacted>"},
		{"authorization-plugins", `["authz"]`, `["authz"]`},
		{"k", strings.Repeat("a", 300), strings.Repeat("a", 200) + "…"},
	}
	for _, tt := range tests {
		if got := redactValue(tt.key, tt.in); got != tt.want {
			t.Errorf("redactValue(%q, %q) = %q, want %q", tt.key, tt.in, got, tt.want)
		}
	}
}

func TestDockerSizeToQuantity(t *testing.T) {
	tests := []struct{ in, want string }{
		{"100m", "100Mi"}, {"1g", "1Gi"}, {"10k", "10Ki"}, {"100M", "100Mi"},
		{"512kb", "512Ki"}, {"1.5g", "1536Mi"}, {"2048", "2Ki"}, {"1000", "1000"}, {"0.5k", "512"},
		{"1t", "1Ti"},
	}
	for _, tt := range tests {
		got, err := dockerSizeToQuantity(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("dockerSizeToQuantity(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "m", "-1m", "10x", "abc"} {
		if got, err := dockerSizeToQuantity(bad); err == nil {
			t.Errorf("dockerSizeToQuantity(%q) = %q, want an error", bad, got)
		}
	}
}

func TestLogMaxFromDaemon(t *testing.T) {
	tests := []struct {
		name, json string
		want       *LogMax
		losses     int
	}{
		{"none", `{}`, nil, 0},
		{"seed", `{"log-opts": {"max-size": "100m", "max-file": "3"}}`, &LogMax{"100Mi", 3}, 0},
		{"json-file default one file", `{"log-opts": {"max-size": "10m"}}`, &LogMax{"10Mi", 2}, 1},
		{"local default five files", `{"log-driver": "local", "log-opts": {"max-size": "10m"}}`, &LogMax{"10Mi", 5}, 0},
		{"local without size", `{"log-driver": "local"}`, nil, 0},
		{"journald ignores opts", `{"log-driver": "journald", "log-opts": {"max-size": "10m"}}`, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseDaemonJSON([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			got, ls, err := logMaxFromDaemon(c)
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) || len(ls) != tt.losses {
				t.Errorf("got %+v with %d losses, want %+v with %d", got, len(ls), tt.want, tt.losses)
			}
		})
	}
	c, _ := ParseDaemonJSON([]byte(`{"log-opts": {"max-size": "10m", "max-file": "zero"}}`))
	if _, _, err := logMaxFromDaemon(c); err == nil {
		t.Error("bad max-file: want an error")
	}
}

// dockerdKeys are the keys of dockerd's documented daemon.json (docs.docker.com
// "dockerd" reference, Linux configuration file, plus keys of older releases
// that 20.10 still read). None of them is "unknown" (issue 15: oom-score-adjust).
var dockerdKeys = []string{
	"allow-nondistributable-artifacts", "api-cors-header", "authorization-plugins", "bip", "bip6", "bridge", "builder",
	"cdi-spec-dirs", "cgroup-parent", "cluster-advertise", "cluster-store", "cluster-store-opts", "containerd",
	"containerd-namespace", "containerd-plugins-namespace", "cpu-rt-period", "cpu-rt-runtime", "data-root", "debug",
	"default-address-pools", "default-cgroupns-mode", "default-gateway", "default-gateway-v6", "default-ipc-mode",
	"default-network-opts", "default-runtime", "default-shm-size", "default-ulimits", "dns", "dns-opts", "dns-search",
	"exec-opts", "exec-root", "experimental", "features", "firewall-backend", "fixed-cidr", "fixed-cidr-v6", "graph",
	"group", "host-gateway-ip", "hosts", "icc", "init", "init-path", "insecure-registries", "ip", "ip-forward",
	"ip-forward-no-drop", "ip-masq", "ip6tables", "iptables", "ipv6", "labels", "live-restore", "log-driver",
	"log-format", "log-level", "log-opts", "max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts",
	"min-api-version", "mtu", "no-new-privileges", "node-generic-resources", "oom-score-adjust", "pidfile", "proxies",
	"raw-logs", "registry-mirrors", "runtimes", "seccomp-profile", "selinux-enabled", "shutdown-timeout",
	"storage-driver", "storage-opts", "swarm-default-advertise-addr", "tls", "tlscacert", "tlscert", "tlskey",
	"tlsverify", "userland-proxy", "userland-proxy-path", "userns-remap",
}

func TestDocumentedDaemonKeysAreNotUnknown(t *testing.T) {
	for _, k := range dockerdKeys {
		c := &DaemonConfig{Raw: map[string]json.RawMessage{k: json.RawMessage(`1`)}}
		for _, l := range daemonKeyLosses(c) {
			if strings.Contains(l.Reason, "unknown") {
				t.Errorf("%s is documented dockerd configuration, reported as %q", k, l.Reason)
			}
		}
	}
	c := &DaemonConfig{Raw: map[string]json.RawMessage{"oom-score-adjust": json.RawMessage(`-500`)}}
	if l := daemonKeyLosses(c); len(l) != 1 || l[0].Severity != LossInfo || !strings.Contains(l[0].Reason, "OOMScoreAdjust") {
		t.Errorf("oom-score-adjust: %+v; want one info loss that names the runtime unit's OOMScoreAdjust", l)
	}
}
