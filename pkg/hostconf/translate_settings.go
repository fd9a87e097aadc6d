package hostconf

import (
	"fmt"
	"path"
)

// defaultDockerRoot is docker's data-root when daemon.json sets none.
const defaultDockerRoot = "/var/lib/docker"

// MovedDataRoot is daemon.json's data-root when it moves docker's data
// away from the default, else "": the default needs nothing followed.
func MovedDataRoot(root string) string {
	if root == "" || path.Clean(root) == defaultDockerRoot {
		return ""
	}
	return root
}

// resolveSettings decides the values both runtimes need and reports the
// daemon.json settings no translator consumes.
func resolveSettings(in Input, dc *DaemonConfig, flags FlagsResult, configDriver string) (runtimeSettings, []Loss, error) {
	driver, driverFrom := cgroupDriver(in.Options, dc, flags.CgroupDriver, configDriver)
	s := runtimeSettings{
		CgroupDriver:     driver,
		CgroupDriverFrom: driverFrom,
		DataRoot:         MovedDataRoot(dc.EffectiveDataRoot()),
		DataRootOK:       in.Options.DataRootCheckOK,
		KeepCrun:         in.Options.KeepCrun,
		ConmonPath:       in.Options.ConmonPath,
		Paths:            in.Options.CRIO.withDefaults(),
	}
	if s.CgroupDriver != "systemd" && s.CgroupDriver != "cgroupfs" {
		return s, nil, fmt.Errorf("%s: cgroup driver %q: want systemd or cgroupfs", cgroupDriverSource(in.Options, dc, flags.CgroupDriver), s.CgroupDriver)
	}
	if s.ConmonPath != "" {
		s.Paths.Conmon = s.ConmonPath // crio.conf's conmon overrides every handler's
	}
	if s.DataRoot == "/var/lib/docker" {
		s.DataRoot = "" // docker's default: nothing to follow
	}
	switch {
	case in.Options.PauseImage != "":
		s.PauseImage = in.Options.PauseImage
		s.PauseImageFrom = "this is the image the node's pods ran with, from " +
			firstNonEmpty(in.Options.PauseImageFrom, "the host")
	case flags.PodInfraImage != "":
		s.PauseImage = flags.PodInfraImage
		s.PauseImageFrom = "carried from the kubelet's --pod-infra-container-image, which the plan removes"
	default:
		p, err := DefaultPauseImage(in.KubeletVersion)
		if err != nil {
			return s, nil, err
		}
		s.PauseImage = p
		s.PauseImageFrom = "nothing on the node names one, so this is kubeadm's pause image for kubelet " + in.KubeletVersion
	}
	var losses []Loss
	s.DefaultRuntime, losses = defaultRuntime(dc)
	losses = append(losses, daemonKeyLosses(dc)...)
	losses = append(losses, logLosses(dc)...)
	losses = append(losses, storageLosses(dc)...)
	losses = append(losses, execOptLosses(dc)...)
	if s.DataRoot != "" && !s.DataRootOK {
		msg := "the new runtime keeps images under its default root on /var/lib, not next to docker's data-root"
		if in.Options.DataRootWhy != "" {
			msg += ": " + in.Options.DataRootWhy
		}
		losses = append(losses, newLoss(LossWarning, "data-root", s.DataRoot, msg,
			"check free space under /var/lib, where the images will be pulled again"))
	}
	return s, losses, nil
}

// cgroupDriver keeps the driver the node already runs with: docker's
// exec-opts, else the kubelet's (which had to match docker), else docker's
// default for the cgroup version. Changing the driver is an explicit option.
// The second result says where the driver was found, for the plan.
func cgroupDriver(o Options, dc *DaemonConfig, flagDriver, configDriver string) (string, string) {
	for _, c := range []struct{ driver, from string }{
		{o.CgroupDriver, "asked for by the operator"},
		{dc.CgroupDriver(), "daemon.json exec-opts native.cgroupdriver"},
		{flagDriver, "the kubelet's --cgroup-driver flag, which the plan removes"},
		{configDriver, "config.yaml's cgroupDriver"},
	} {
		if c.driver != "" {
			return c.driver, c.from
		}
	}
	if o.CgroupV2 {
		return "systemd", "docker's default on this cgroup v2 host"
	}
	return "cgroupfs", "docker's default on this cgroup v1 host"
}

// cgroupDriverSource names where cgroupDriver took its value, for errors.
func cgroupDriverSource(o Options, dc *DaemonConfig, flagDriver string) string {
	switch {
	case o.CgroupDriver != "":
		return "the cgroup driver option"
	case dc.CgroupDriver() != "":
		return "/etc/docker/daemon.json exec-opts native.cgroupdriver"
	case flagDriver != "":
		return "the kubelet's --cgroup-driver flag"
	}
	return KubeletConfigPath + " cgroupDriver"
}

// defaultRuntime carries docker's default-runtime over when the runtime is
// one of the translated "runtimes" entries.
func defaultRuntime(dc *DaemonConfig) (string, []Loss) {
	switch d := dc.DefaultRuntime; {
	case d == "" || d == "runc":
		return "", nil
	case hasKey(dc.Runtimes, d):
		return d, nil
	default:
		return "", []Loss{newLoss(LossWarning, "default-runtime", d,
			"the default runtime is not defined in daemon.json runtimes, so it cannot be carried over",
			"define the runtime handler in the new runtime's configuration and set it as default")}
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
