package host

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// Docker and containerd expand a short image name such as nginx:1.25 to
// docker.io/library/nginx:1.25. CRI-O resolves it through
// containers-registries.conf: an alias, or the unqualified-search-registries
// list (the last file that sets it wins). Without docker.io there, pods with
// short names fail with ImageInspectError after a swap to CRI-O.

// ShortName reports whether an image reference has no registry host.
func ShortName(image string) bool {
	first, _, found := strings.Cut(image, "/")
	if !found {
		return true
	}
	return !strings.ContainsAny(first, ".:") && first != "localhost"
}

// CanPull says whether the running runtime can resolve an image, and why not.
func (h *Host) CanPull(image string) (bool, string) {
	k := h.Kubelet()
	if k == nil || k.Runtime != "crio" || !ShortName(image) {
		return true, ""
	}
	search, aliases := h.shortNameConfig()
	name, _, _ := strings.Cut(image, "@")
	repo := name
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo = name[:i]
	}
	if _, ok := aliases[repo]; ok {
		return true, ""
	}
	for _, r := range search {
		if r == "docker.io" {
			return true, ""
		}
	}
	if len(search) == 0 {
		return false, fmt.Sprintf("ImageInspectError: short name mode is enforcing, but image name %s returns ambiguous list: no unqualified-search registries are defined in \"/etc/containers/registries.conf\"", image)
	}
	return false, fmt.Sprintf("ImageInspectError: image %q not found in the unqualified-search registries %v", image, search)
}

func (h *Host) shortNameConfig() (search []string, aliases map[string]string) {
	aliases = map[string]string{}
	files := h.Glob("/etc/containers/registries.conf.d/*.conf")
	if h.Exists("/etc/containers/registries.conf") {
		files = append([]string{"/etc/containers/registries.conf"}, files...)
	}
	for _, f := range files {
		var rc registriesConf
		md, err := toml.DecodeFile(h.P(f), &rc)
		if err != nil {
			continue
		}
		if md.IsDefined("unqualified-search-registries") {
			search = rc.Unqualified
		}
		for k, v := range rc.Aliases {
			aliases[k] = v
		}
	}
	return search, aliases
}
