package hostconf

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

func TestRegistriesEdgeCases(t *testing.T) {
	c, err := ParseDaemonJSON([]byte(`{
		"registry-mirrors": ["https://u:p@m.example.com/", "::bad", "m2.example.com:8443/path/?q=1"],
		"insecure-registries": ["docker.io", "http://r.example.com/", "r.example.com", "192.168.0.0/24"]}`))
	if err != nil {
		t.Fatal(err)
	}
	r := parseRegistries(c)
	if len(r.Insecure) != 2 || r.Insecure[1] != "r.example.com" {
		t.Errorf("insecure hosts %v: want docker.io and one r.example.com", r.Insecure)
	}
	if len(r.Mirrors) != 2 || r.Mirrors[0].Location != "m.example.com" || r.Mirrors[1].Location != "m2.example.com:8443/path" {
		t.Errorf("mirrors %+v", r.Mirrors)
	}
	keys := map[string]int{}
	for _, l := range r.losses {
		keys[l.Key]++
		if strings.Contains(l.Value, "u:p@") {
			t.Errorf("loss leaks credentials: %+v", l)
		}
	}
	if keys["registry-mirrors"] != 2 || keys["insecure-registries"] != 1 {
		t.Errorf("losses %+v", r.losses)
	}
	conf := registriesConf(r).content
	var v struct {
		Unqualified []string `toml:"unqualified-search-registries"`
		Registry    []struct {
			Prefix, Location string
			Insecure         bool
			Mirror           []struct{ Location string }
		}
	}
	if _, err := toml.Decode(string(conf), &v); err != nil {
		t.Fatalf("%v\n%s", err, conf)
	}
	if len(v.Unqualified) != 1 || v.Registry[0].Prefix != "docker.io" || !v.Registry[0].Insecure || len(v.Registry[0].Mirror) != 2 {
		t.Errorf("decoded %+v", v)
	}
}

func TestRegistriesConfAlwaysSearchesDockerHub(t *testing.T) {
	conf := string(registriesConf(registries{}).content)
	if !strings.Contains(conf, `unqualified-search-registries = ["docker.io"]`) || strings.Contains(conf, "[[registry]]") {
		t.Errorf("empty daemon.json gave:\n%s", conf)
	}
}

func TestCertCopies(t *testing.T) {
	got := certCopies([]CertDir{{Host: "z.example.com:5000", Files: []string{"ca.crt", "../escape", "client.key"}},
		{Host: "/etc/docker/certs.d/a.example.com/"}, {Host: ""}}, ContainersCertsDir)
	want := []CopyOp{
		{From: "/etc/docker/certs.d/a.example.com", To: "/etc/containers/certs.d/a.example.com"},
		{From: "/etc/docker/certs.d/z.example.com:5000", To: "/etc/containers/certs.d/z.example.com:5000", Files: []string{"ca.crt", "client.key"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copies (-want +got):\n%s", diff)
	}
}

func TestCrioConfOptions(t *testing.T) {
	c, _ := ParseDaemonJSON([]byte(`{"runtimes": {"runsc": {"path": "/usr/local/bin/runsc", "runtimeArgs": ["--platform=kvm"]}}}`))
	s := runtimeSettings{CgroupDriver: "systemd", PauseImage: "p:1", DataRoot: "/data/docker"}
	gen, losses := crioConf(c, s)
	conf := gen.content
	var v map[string]any
	if _, err := toml.Decode(string(conf), &v); err != nil {
		t.Fatalf("%v\n%s", err, conf)
	}
	text := string(conf)
	for _, want := range []string{`default_runtime = "runc"`, `[crio.runtime.runtimes.runsc]`, `runtime_path = "/usr/local/bin/runsc"`} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\nroot =") || strings.Contains(text, "conmon_cgroup") {
		t.Errorf("root must wait for the data-root check; conmon_cgroup is for cgroupfs only:\n%s", text)
	}
	if len(losses) != 1 || losses[0].Key != "runtimes.runsc.runtimeArgs" {
		t.Errorf("losses %+v", losses)
	}
}

func TestTOMLStringEscapes(t *testing.T) {
	for _, s := range []string{`a"b`, `c:\path`, "tab\there", "nl\nx", "ctl\x01", "ünï"} {
		var v struct{ K string }
		if _, err := toml.Decode("K = "+tomlString(s), &v); err != nil || v.K != s {
			t.Errorf("tomlString(%q) round trip gave %q, %v", s, v.K, err)
		}
	}
	if tomlKey("runc") != "runc" || tomlKey("a.b") != `"a.b"` || tomlKey("") != `""` {
		t.Error("tomlKey quoting")
	}
}

func TestContainerdLayout(t *testing.T) {
	for v, want := range map[string]int{"1.6.20": 2, "1.7.24": 2, "2.0.0": 3, "v2.1.4": 3, "": 2, "junk": 2} {
		if got := layoutFor(v).Version; got != want {
			t.Errorf("layoutFor(%q) = version %d, want %d", v, got, want)
		}
	}
}
