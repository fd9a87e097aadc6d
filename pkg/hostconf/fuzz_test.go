package hostconf

import "testing"

// FuzzTranslateDaemonJSON: no daemon.json, however odd, may panic the
// translators, and whatever they produce must parse on the node.
func FuzzTranslateDaemonJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"registry-mirrors": ["http://[::1]:5000", "https://u:p@m/x/"]}`,
		`{"insecure-registries": ["10.0.0.0/8", "::", "http://"]}`,
		`{"runtimes": {"a.b": {"path": "x"}, "runc": {}}, "default-runtime": "a.b"}`,
		`{"log-opts": {"max-size": "1.5g", "max-file": "9"}, "exec-opts": ["native.cgroupdriver=systemd"]}`,
		`{"default-ulimits": {"nofile": {"Soft": -1, "Hard": -1}}, "data-root": "/"}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, daemon string, containerd bool) {
		in := baseInput()
		in.DaemonJSON = []byte(daemon)
		in.Options.DataRootCheckOK = true
		if containerd {
			in.Target, in.TargetVersion = TargetContainerd, "2.1.0"
		}
		out, err := Translate(in)
		if err != nil {
			return
		}
		checkOutputParses(t, out)
	})
}

// FuzzEditKubeletConfig: the line editor must not panic, and anything it
// returns has already passed strict decoding.
func FuzzEditKubeletConfig(f *testing.F) {
	for _, s := range []string{
		minimalConfig, minimalConfig + "cgroupDriver: cgroupfs # x\n", "---\n" + minimalConfig,
		`{"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"}`,
		minimalConfig + "cgroupDriver:\n  systemd\n", minimalConfig + "...\n",
	} {
		f.Add(s)
	}
	e := ConfigEdits{CgroupDriver: "systemd", RuntimeRequestTimeout: MinRuntimeRequestTimeout,
		LogMax: &LogMax{"10Mi", 3}, ContainerRuntimeEndpoint: CrioEndpoint}
	f.Fuzz(func(t *testing.T, doc string) {
		out, err := EditKubeletConfig([]byte(doc), e)
		if err != nil {
			return
		}
		if _, err := decodeKubeletConfig(out); err != nil {
			t.Errorf("returned a config that does not decode: %v", err)
		}
	})
}
