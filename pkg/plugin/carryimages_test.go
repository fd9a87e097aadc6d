package plugin

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestCarryImagesNeedsPodmanForCRIO(t *testing.T) {
	for _, c := range []struct {
		target   string
		noPodman bool
		wantErr  bool
	}{
		{"cri-o", true, true},
		{"cri-o", false, false},
		{"containerd", true, false}, // containerd's store is written with ctr
	} {
		o := NewMigrateOptions(genericiooptions.NewTestIOStreamsDiscard())
		o.Yes, o.CarryImages, o.NoPodman, o.Plan.Target = true, true, c.noPodman, c.target
		err := o.Validate()
		if got := err != nil && strings.Contains(err.Error(), "--carry-images loads images with podman; drop --no-podman"); got != c.wantErr {
			t.Errorf("%s, --no-podman=%v: Validate() = %v", c.target, c.noPodman, err)
		}
	}
}
