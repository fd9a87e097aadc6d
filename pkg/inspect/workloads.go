package inspect

import (
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ownerHit gathers, per workload, the nodes its matching pods run on.
type ownerHit struct {
	nodes  map[string]bool
	detail string
}

type hitSet map[string]*ownerHit

func (h hitSet) add(owner, node, detail string) {
	hit := h[owner]
	if hit == nil {
		hit = &ownerHit{nodes: map[string]bool{}, detail: detail}
		h[owner] = hit
	}
	if node != "" {
		hit.nodes[node] = true
	}
}

func (h hitSet) findings(id string, sev Severity, msg func(detail string) string, remedy string) []Finding {
	owners := make([]string, 0, len(h))
	for o := range h {
		owners = append(owners, o)
	}
	sort.Strings(owners)
	fs := make([]Finding, 0, len(owners))
	for _, o := range owners {
		hit := h[o]
		fs = append(fs, Finding{ID: id, Severity: sev, Subject: o, Nodes: sortedKeys(hit.nodes), Message: msg(hit.detail), Remedy: remedy})
	}
	return fs
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hostPathKind classifies a hostPath volume by what it exposes of docker.
func hostPathKind(p string) string {
	clean := path.Clean(p)
	switch {
	case strings.HasSuffix(clean, "/docker.sock"), strings.HasSuffix(clean, "/dockershim.sock"),
		strings.HasSuffix(clean, "/cri-dockerd.sock"):
		return IDDockerSocket
	case clean == "/var/run" || clean == "/run":
		return IDRunMount
	case clean == "/var/lib/docker" || strings.HasPrefix(clean, "/var/lib/docker/"):
		return IDDockerDataMount
	}
	return ""
}

// workloadFindings reports, by owner, workloads that depend on docker.
func workloadFindings(f *Facts) []Finding {
	hits := map[string]hitSet{IDDockerSocket: {}, IDRunMount: {}, IDDockerDataMount: {}, IDDockerHost: {}, IDShortImageName: {}}
	for i := range f.pods {
		p := &f.pods[i]
		podHits := p.extra().hits
		if len(podHits) == 0 {
			continue
		}
		owner := f.owner(p)
		for _, h := range podHits {
			hits[h.id].add(owner, p.node, h.detail)
		}
	}
	for _, t := range f.templates() {
		for _, h := range t.hits {
			hits[h.id].add(t.owner, "", h.detail)
		}
	}
	var fs []Finding
	fs = append(fs, hits[IDDockerSocket].findings(IDDockerSocket, Blocker,
		func(d string) string {
			return fmt.Sprintf("mounts the docker socket %s; it stops working once docker is gone", d)
		},
		"move it to the CRI socket (crictl), a rootless builder (buildah, kaniko) or its own docker daemon; or accept with --accept "+IDDockerSocket)...)
	fs = append(fs, hits[IDRunMount].findings(IDRunMount, Warning,
		func(d string) string { return fmt.Sprintf("mounts %s, which holds docker.sock today", d) },
		"check that it does not use docker.sock; the CRI socket will be /var/run/crio/crio.sock or /run/containerd/containerd.sock")...)
	fs = append(fs, hits[IDDockerDataMount].findings(IDDockerDataMount, Warning,
		func(d string) string { return fmt.Sprintf("mounts %s; container data and logs move away from it", d) },
		"point it at /var/log/pods and the new runtime's storage")...)
	fs = append(fs, hits[IDDockerHost].findings(IDDockerHost, Blocker,
		func(d string) string { return fmt.Sprintf("sets DOCKER_HOST=%s; no docker daemon will answer", d) },
		"remove the docker dependency, or accept with --accept "+IDDockerHost)...)
	fs = append(fs, hits[IDShortImageName].findings(IDShortImageName, Info,
		func(d string) string { return fmt.Sprintf("uses the short image name %q", d) },
		"nothing to do: crimig writes unqualified-search-registries = [\"docker.io\"]; fully qualified names are still better")...)
	return fs
}

func allContainers(spec *corev1.PodSpec) []corev1.Container {
	cs := append([]corev1.Container{}, spec.InitContainers...)
	return append(cs, spec.Containers...)
}

// IsShortImageName tells names that docker silently qualified with
// docker.io and CRI-O rejects, such as "nginx:1.25" or "library/nginx".
func IsShortImageName(image string) bool {
	if image == "" {
		return false
	}
	first, _, hasSlash := strings.Cut(image, "/")
	if !hasSlash {
		return true
	}
	return !strings.ContainsAny(first, ".:") && first != "localhost"
}
