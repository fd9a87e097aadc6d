package hostconf

import (
	"strings"
	"testing"
)

func TestMissingRuntimeBinaryIsLeftOut(t *testing.T) {
	in := Input{
		DaemonJSON:     []byte(`{"runtimes":{"nvidia":{"path":"/usr/bin/nvidia-container-runtime"},"kata":{"path":"/opt/kata/bin/kata-runtime"}}}`),
		FlagsFiles:     map[string][]byte{KubeadmFlagsEnv: []byte("KUBELET_KUBEADM_ARGS=\"\"\n")},
		KubeletConfig:  []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"),
		KubeletVersion: "v1.33.4",
		Target:         TargetCRIO,
		Options:        Options{MissingRuntimePaths: []string{"/usr/bin/nvidia-container-runtime"}},
	}
	out, err := Translate(in)
	if err != nil {
		t.Fatal(err)
	}
	var dropIn string
	for _, f := range out.Files {
		if f.Path == CrioDropIn {
			dropIn = string(f.Content)
		}
	}
	if strings.Contains(dropIn, "nvidia") || !strings.Contains(dropIn, "kata-runtime") {
		t.Errorf("drop-in must keep kata and leave nvidia out:\n%s", dropIn)
	}
	found := false
	for _, l := range out.Losses {
		if l.Key == "runtimes.nvidia" && l.Severity == LossWarning {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning loss for the missing nvidia binary: %+v", out.Losses)
	}
}
