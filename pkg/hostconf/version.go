package hostconf

import (
	"fmt"
	"strconv"
	"strings"
)

// minorVersion extracts major and minor from kubelet or runtime version
// strings as reported in the wild: "v1.23.3", "1.29", "v1.28.5-eks-5e0fdde",
// GKE's "1.27+".
func minorVersion(v string) (major, minor int, err error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("version %q: want MAJOR.MINOR[.PATCH]", v)
	}
	major, err = strconv.Atoi(leadingDigits(parts[0]))
	if err != nil {
		return 0, 0, fmt.Errorf("version %q: bad major: %w", v, err)
	}
	minor, err = strconv.Atoi(leadingDigits(parts[1]))
	if err != nil {
		return 0, 0, fmt.Errorf("version %q: bad minor: %w", v, err)
	}
	return major, minor, nil
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// kubeletMinor returns the 1.x minor of a kubelet version; only Kubernetes 1.x
// exists, so any other major is an input error.
func kubeletMinor(v string) (int, error) {
	major, minor, err := minorVersion(v)
	if err != nil {
		return 0, fmt.Errorf("kubelet %w", err)
	}
	if major != 1 {
		return 0, fmt.Errorf("kubelet version %q: only 1.x is supported", v)
	}
	return minor, nil
}

// pauseByMinor is kubeadm's default pause tag per Kubernetes minor
// (cmd/kubeadm/app/constants PauseVersion). Minors outside the table use the
// nearest entry.
var pauseByMinor = []struct {
	minor int
	tag   string
}{
	{19, "3.2"}, {20, "3.2"}, {21, "3.4.1"}, {22, "3.5"}, {23, "3.6"},
	{24, "3.7"}, {25, "3.8"}, {26, "3.9"}, {30, "3.9"}, {31, "3.10"},
	{33, "3.10"}, {34, "3.10.1"},
}

// DefaultPauseImage is the pause image kubeadm would use for a kubelet minor,
// from registry.k8s.io. Air-gapped clusters should pass their own image
// (kubeadm-config imageRepository) through Options.PauseImage instead.
func DefaultPauseImage(kubeletVersion string) (string, error) {
	minor, err := kubeletMinor(kubeletVersion)
	if err != nil {
		return "", err
	}
	tag := pauseByMinor[0].tag
	for _, p := range pauseByMinor {
		if minor >= p.minor {
			tag = p.tag
		}
	}
	return "registry.k8s.io/pause:" + tag, nil
}
