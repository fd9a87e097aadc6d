package hostconf

import (
	"strings"
	"testing"
	"time"
)

const minimalConfig = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"

func TestEditKubeletConfig(t *testing.T) {
	all := ConfigEdits{CgroupDriver: "systemd", RuntimeRequestTimeout: 5 * time.Minute,
		LogMax: &LogMax{"100Mi", 3}, ContainerRuntimeEndpoint: CrioEndpoint}
	tests := []struct {
		name, in string
		e        ConfigEdits
		want     string
	}{
		{"insert into minimal", minimalConfig, all, minimalConfig +
			"cgroupDriver: systemd\ncontainerLogMaxFiles: 3\ncontainerLogMaxSize: 100Mi\n" +
			"containerRuntimeEndpoint: unix:///var/run/crio/crio.sock\nruntimeRequestTimeout: 5m\n"},
		{"replace keeps comment", minimalConfig + "cgroupDriver: cgroupfs   # docker default\n",
			ConfigEdits{CgroupDriver: "systemd"}, minimalConfig + "cgroupDriver: systemd   # docker default\n"},
		{"larger timeout kept", minimalConfig + "runtimeRequestTimeout: 15m\n",
			ConfigEdits{RuntimeRequestTimeout: 5 * time.Minute}, minimalConfig + "runtimeRequestTimeout: 15m\n"},
		{"zero timeout raised", minimalConfig + "runtimeRequestTimeout: 0s\n",
			ConfigEdits{RuntimeRequestTimeout: 5 * time.Minute}, minimalConfig + "runtimeRequestTimeout: 5m\n"},
		{"sorted insert keeps order and comments",
			"apiVersion: kubelet.config.k8s.io/v1beta1\nclusterDomain: cluster.local\n# why\nkind: KubeletConfiguration\nmaxPods: 10\n",
			ConfigEdits{LogMax: &LogMax{"10Mi", 2}},
			"apiVersion: kubelet.config.k8s.io/v1beta1\nclusterDomain: cluster.local\ncontainerLogMaxFiles: 2\ncontainerLogMaxSize: 10Mi\n# why\nkind: KubeletConfiguration\nmaxPods: 10\n"},
		{"no final newline", strings.TrimSuffix(minimalConfig, "\n"), ConfigEdits{CgroupDriver: "cgroupfs"},
			minimalConfig + "cgroupDriver: cgroupfs\n"},
		{"leading document marker", "---\n" + minimalConfig, ConfigEdits{CgroupDriver: "systemd"},
			"---\n" + minimalConfig + "cgroupDriver: systemd\n"},
		{"nothing to do", minimalConfig, ConfigEdits{}, minimalConfig},
		{"numeric-looking size is quoted", minimalConfig, ConfigEdits{LogMax: &LogMax{MaxSize: "1000"}},
			minimalConfig + "containerLogMaxSize: \"1000\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EditKubeletConfig([]byte(tt.in), tt.e)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestEditKubeletConfigErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"malformed yaml", minimalConfig + "cgroupDriver: [systemd\n", "existing kubelet config"},
		{"unknown field", minimalConfig + "notAField: 1\n", "unknown field"},
		{"wrong kind", "apiVersion: v1\nkind: ConfigMap\n", "want kind KubeletConfiguration"},
		{"empty", "", "want kind KubeletConfiguration"},
		{"two documents", minimalConfig + "---\n" + minimalConfig, ""},
		{"duplicate key", minimalConfig + "maxPods: 1\nmaxPods: 2\n", "existing kubelet config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EditKubeletConfig([]byte(tt.in), ConfigEdits{CgroupDriver: "systemd"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestEditKubeletConfigJSON(t *testing.T) {
	in := `{"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", "maxPods": 50}`
	got, err := EditKubeletConfig([]byte(in), ConfigEdits{CgroupDriver: "systemd", LogMax: &LogMax{"5Mi", 4}})
	if err != nil {
		t.Fatal(err)
	}
	kc, err := decodeKubeletConfig(got)
	if err != nil {
		t.Fatal(err)
	}
	if kc.CgroupDriver != "systemd" || kc.MaxPods != 50 || *kc.ContainerLogMaxFiles != 4 || kc.ContainerLogMaxSize != "5Mi" {
		t.Errorf("got %+v", kc)
	}
}

func TestEditKubeletConfigNestedValueReplaced(t *testing.T) {
	in := minimalConfig + "cgroupDriver:\n  systemd\nmaxPods: 5\n"
	got, err := EditKubeletConfig([]byte(in), ConfigEdits{CgroupDriver: "cgroupfs"})
	if err != nil {
		t.Fatal(err)
	}
	if want := minimalConfig + "cgroupDriver: cgroupfs\nmaxPods: 5\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute: "5m", 150 * time.Second: "2m30s", time.Hour: "1h", 90 * time.Minute: "1h30m", 0: "0s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestEditKubeletConfigMap(t *testing.T) {
	data := minimalConfig + "cgroupDriver: cgroupfs\n"
	e := ConfigMapEdits{CgroupDriver: "systemd", RuntimeRequestTimeout: true, LogMax: &LogMax{"100Mi", 3}}
	got, err := EditKubeletConfigMap("kubelet-config-1.23", data, e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.After, "cgroupDriver: cgroupfs\n") || strings.Contains(got.After, "containerRuntimeEndpoint") {
		t.Errorf("cgroupDriver must stay without CgroupDriverSafe and no endpoint may be written:\n%s", got.After)
	}
	e.CgroupDriverSafe = true
	got, err = EditKubeletConfigMap("kubelet-config-1.23", data, e)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "configmap/kubelet-config-1.23.diff", []byte(got.Diff))
	if _, err := EditKubeletConfigMap("kubelet-config", "kind: [", e); err == nil ||
		!strings.Contains(err.Error(), "configmap kubelet-config") {
		t.Errorf("malformed: got %v", err)
	}
}
