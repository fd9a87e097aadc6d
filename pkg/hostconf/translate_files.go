package hostconf

import "path"

// addRuntimeFiles adds the target runtime's configuration files and the
// certificate copies.
func (o *Output) addRuntimeFiles(in Input, dc *DaemonConfig, s runtimeSettings) {
	regs := parseRegistries(dc)
	o.Losses = append(o.Losses, regs.losses...)
	if in.Target == TargetContainerd {
		conf, l := containerdConf(dc, s, in.TargetVersion)
		o.Losses = append(o.Losses, l...)
		o.Files = append(o.Files, o.generated(in, ContainerdConfig, conf, "replaces the config.toml of docker's containerd package, "+
			"which disables the CRI plugin the kubelet needs; carries daemon.json's settings over"))
		hosts, hl := containerdHosts(regs, in.CertDirs)
		o.Losses = append(o.Losses, hl...)
		for _, h := range sortedHosts(hosts) {
			o.Files = append(o.Files, o.generated(in, path.Join(ContainerdCertsDir, h.Host, "hosts.toml"), h.generated, h.Reason))
		}
		o.Copies = certCopies(in.CertDirs, ContainerdCertsDir)
		return
	}
	conf, l := crioConf(dc, s)
	o.Losses = append(o.Losses, l...)
	o.Files = append(o.Files, o.generated(in, CrioDropIn, conf, "CRI-O's settings translated from daemon.json and the kubelet's, "+
		"in a drop-in that overrides the package's crio.conf, which is left untouched"))
	o.Files = append(o.Files, o.generated(in, RegistriesDropIn, registriesConf(regs), "docker's registry behaviour "+
		"(short names, daemon.json registry-mirrors and insecure-registries) for CRI-O, which reads registries.conf.d"))
	if s.CgroupDriver == "cgroupfs" {
		o.Files = append(o.Files, o.generated(in, CrioServiceDropIn, crioServiceDropIn(),
			"the node keeps the cgroupfs driver: crio.service must not take the pods down when it restarts"))
	}
	o.Copies = certCopies(in.CertDirs, ContainersCertsDir)
}

func (o *Output) generated(in Input, p string, g generated, reason string) File {
	before, ok := in.Existing[p]
	if !ok {
		before = nil
	} else if before == nil {
		before = []byte{}
	}
	return newFile(p, 0o644, before, g.content, reason, g.edits)
}

func sortedHosts(hs []hostsFile) []hostsFile {
	m := make(map[string]hostsFile, len(hs))
	for _, h := range hs {
		m[h.Host] = h
	}
	out := make([]hostsFile, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

// addKubeletFiles edits config.yaml and, where kubeadm keeps the CRI socket
// per node, instance-config.yaml.
func (o *Output) addKubeletFiles(in Input, dc *DaemonConfig, s runtimeSettings, minor int) error {
	lm, ll, err := logMaxFromDaemon(dc)
	if err != nil {
		return err
	}
	o.KubeletLogMax = lm
	o.Losses = append(o.Losses, ll...)
	e := ConfigEdits{CgroupDriver: s.CgroupDriver, CgroupDriverFrom: s.CgroupDriverFrom,
		RuntimeRequestTimeout: MinRuntimeRequestTimeout, LogMax: lm}
	if minor >= 27 {
		e.ContainerRuntimeEndpoint = o.RuntimeEndpoint
	}
	after, edits, err := editKubeletConfig(in.KubeletConfig, e)
	if err != nil {
		return err
	}
	o.Files = append(o.Files, newFile(KubeletConfigPath, 0o644, in.KubeletConfig, after,
		"the kubelet's settings for the new runtime; the rest of the file is left as it is", edits))
	existing, has := in.Existing[InstanceConfigPath]
	o.NodeLocalCRISocket = minor >= nodeLocalCRISocketMinor || has
	if !o.NodeLocalCRISocket {
		return nil
	}
	ic, icEdits, err := instanceConfig(existing, o.RuntimeEndpoint)
	if err != nil {
		return err
	}
	o.Files = append(o.Files, o.generated(in, InstanceConfigPath, generated{content: ic, edits: icEdits}, InstanceConfigReason))
	return nil
}
