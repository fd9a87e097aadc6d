package host

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"
)

// Image stores. Each runtime keeps the images it holds in a state file,
// one normalised reference per line:
//
//	/var/lib/sim/images/docker              docker (dockershim and cri-dockerd)
//	/var/lib/sim/images/containers-storage  CRI-O and podman (/var/lib/containers/storage)
//	/var/lib/sim/images/containerd          containerd's k8s.io namespace (the kubelet's)
//	/var/lib/sim/images/containerd.<ns>     containerd's other namespaces
//
// Fixtures ship docker's store with the images their pods use. A pull adds
// the image to the store of the runtime that pulls it; on an air-gapped
// host (OfflineFile) every pull fails, so a pod can only start from an
// image that is already in its runtime's store.
const (
	ImagesDir = "/var/lib/sim/images"

	StoreDocker     = "docker"
	StoreContainers = "containers-storage"
	StoreContainerd = "containerd"

	// OfflineFile marks an air-gapped host (the same file as applets.OfflineFile).
	OfflineFile = "/var/lib/sim/offline"
)

// ContainerdStore is the store of one containerd namespace.
func ContainerdStore(namespace string) string {
	if namespace == "" || namespace == "k8s.io" {
		return StoreContainerd
	}
	return StoreContainerd + "." + namespace
}

// DefaultContainersRoot is containers-storage's default graph root.
const DefaultContainersRoot = "/var/lib/containers/storage"

// ContainersStore is the store of containers-storage at root: CRI-O's
// `root` and podman's --root. The default root is StoreContainers; another
// one is a store of its own, so that images loaded into one root are not
// seen by a runtime reading another.
func ContainersStore(root string) string {
	if root == "" || path.Clean(root) == DefaultContainersRoot {
		return StoreContainers
	}
	return StoreContainers + "@" + strings.ReplaceAll(strings.Trim(path.Clean(root), "/"), "/", "_")
}

// RuntimeStore is the store a kubelet runtime (docker, crio, containerd)
// pulls into and starts containers from. CRI-O's follows its `root`.
func (h *Host) RuntimeStore(runtime string) string {
	switch runtime {
	case "crio":
		return ContainersStore(h.CrioRoot())
	case "containerd":
		return StoreContainerd
	}
	return StoreDocker
}

// Offline reports whether the host is air-gapped.
func (h *Host) Offline() bool { return h.Exists(OfflineFile) }

// NormalizeImage qualifies a reference as docker and containerd do:
// nginx:1.25 is docker.io/library/nginx:1.25, and a reference without a tag
// or digest gets :latest.
func NormalizeImage(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	if ShortName(ref) {
		if !strings.Contains(ref, "/") {
			ref = "library/" + ref
		}
		ref = "docker.io/" + ref
	} else if first, rest, _ := strings.Cut(ref, "/"); first == "index.docker.io" || first == "registry-1.docker.io" {
		ref = "docker.io/" + rest
	}
	if strings.HasPrefix(ref, "docker.io/") && strings.Count(ref, "/") == 1 {
		ref = "docker.io/library/" + strings.TrimPrefix(ref, "docker.io/")
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	if !strings.ContainsAny(last, ":@") {
		ref += ":latest"
	}
	return ref
}

// FamiliarImage is the short form docker prints and writes into the
// RepoTags of `docker save`: docker.io/library/nginx:1.25 is nginx:1.25.
func FamiliarImage(ref string) string {
	ref = NormalizeImage(ref)
	if rest, ok := strings.CutPrefix(ref, "docker.io/"); ok {
		return strings.TrimPrefix(rest, "library/")
	}
	return ref
}

// SplitImage splits a normalised reference into repository and tag (or digest).
func SplitImage(ref string) (repo, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// ImageID is the image's stable fake id (sha256 hex) in every store.
func ImageID(ref string) string {
	sum := sha256.Sum256([]byte(NormalizeImage(ref)))
	return hex.EncodeToString(sum[:])
}

// ImageSize is the image's stable fake size in bytes (5 to 200 MB).
func ImageSize(ref string) int64 {
	sum := sha256.Sum256([]byte("size " + NormalizeImage(ref)))
	return 5_000_000 + int64(binary.BigEndian.Uint16(sum[:2]))*3_000
}

func storeFile(store string) string { return path.Join(ImagesDir, store) }

// Images lists a store, sorted.
func (h *Host) Images(store string) []string {
	var out []string
	for _, l := range strings.Split(h.Read(storeFile(store)), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// HasImage reports whether a store holds the image.
func (h *Host) HasImage(store, ref string) bool {
	want := NormalizeImage(ref)
	for _, img := range h.Images(store) {
		if NormalizeImage(img) == want {
			return true
		}
	}
	return false
}

// AddImages adds references to a store; it returns those that were new.
// Writers in other processes (stubs, the controller) are serialised with a
// lock file next to the stores.
func (h *Host) AddImages(store string, refs ...string) ([]string, error) {
	unlock, err := h.lockImages()
	if err != nil {
		return nil, err
	}
	defer unlock()
	have := map[string]bool{}
	list := h.Images(store)
	for _, img := range list {
		have[NormalizeImage(img)] = true
	}
	var added []string
	for _, r := range refs {
		n := NormalizeImage(r)
		if n == "" || have[n] {
			continue
		}
		have[n] = true
		list = append(list, n)
		added = append(added, n)
	}
	if len(added) == 0 {
		return nil, nil
	}
	sort.Strings(list)
	return added, h.Write(storeFile(store), strings.Join(list, "\n")+"\n")
}

// RemoveImage deletes a reference from a store; it reports whether it was there.
func (h *Host) RemoveImage(store, ref string) (bool, error) {
	unlock, err := h.lockImages()
	if err != nil {
		return false, err
	}
	defer unlock()
	want, found := NormalizeImage(ref), false
	var keep []string
	for _, img := range h.Images(store) {
		if NormalizeImage(img) == want {
			found = true
			continue
		}
		keep = append(keep, img)
	}
	if !found {
		return false, nil
	}
	content := ""
	if len(keep) > 0 {
		content = strings.Join(keep, "\n") + "\n"
	}
	return true, h.Write(storeFile(store), content)
}

func (h *Host) lockImages() (func(), error) {
	if err := os.MkdirAll(h.P(ImagesDir), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(h.P(path.Join(ImagesDir, ".lock")), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Pull is a runtime fetching an image into its store: a no-op when the
// image is there (unless always, imagePullPolicy: Always), an error like
// the runtime's own when the host is air-gapped.
func (h *Host) Pull(runtime, ref string, always bool) error {
	store := h.RuntimeStore(runtime)
	if !always && h.HasImage(store, ref) {
		return nil
	}
	if h.Offline() {
		return PullError(runtime, ref)
	}
	_, err := h.AddImages(store, ref)
	return err
}

// PullError is what a runtime says when it cannot reach the registry.
func PullError(runtime, ref string) error {
	n := NormalizeImage(ref)
	registry, _, _ := strings.Cut(n, "/")
	endpoint := registry
	if registry == "docker.io" {
		endpoint = "registry-1.docker.io"
	}
	repo, tag := SplitImage(n)
	switch runtime {
	case "crio":
		return fmt.Errorf("rpc error: code = Unknown desc = pinging container registry %s: Get \"https://%s/v2/\": dial tcp: lookup %s on 10.0.0.2:53: no such host",
			registry, endpoint, endpoint)
	case "containerd":
		return fmt.Errorf("rpc error: code = Unknown desc = failed to pull and unpack image %q: failed to resolve reference %q: failed to do request: Head \"https://%s/v2/%s/manifests/%s\": dial tcp: lookup %s on 10.0.0.2:53: no such host",
			n, n, endpoint, strings.TrimPrefix(repo, registry+"/"), tag, endpoint)
	}
	return fmt.Errorf("Error response from daemon: Get \"https://%s/v2/\": dial tcp: lookup %s on 10.0.0.2:53: no such host", endpoint, endpoint)
}

// SandboxImage is the pause image the kubelet's runtime creates pod
// sandboxes from: CRI-O's pause_image, containerd's sandbox image, or the
// --pod-infra-container-image of dockershim (the kubelet) or cri-dockerd.
func (h *Host) SandboxImage() string {
	k := h.Kubelet()
	if k == nil {
		return ""
	}
	switch k.Runtime {
	case "crio":
		var cfg crioConfig
		for _, f := range h.CrioFiles() {
			if st, err := os.Stat(h.P(f)); err == nil && !st.IsDir() {
				_, _ = toml.DecodeFile(h.P(f), &cfg)
			}
		}
		if p := cfg.Crio.Image.PauseImage; p != "" {
			return p
		}
		if minorOf(h.CrioVersion()) >= 31 {
			return "registry.k8s.io/pause:3.10"
		}
		return "registry.k8s.io/pause:3.9"
	case "containerd":
		cfg, _ := h.containerdConfig()
		if v, ok := dig(cfg, "plugins", "io.containerd.grpc.v1.cri", "sandbox_image"); ok {
			if s, _ := v.(string); s != "" {
				return s
			}
		}
		if v, ok := dig(cfg, "plugins", "io.containerd.cri.v1.images", "pinned_images", "sandbox"); ok {
			if s, _ := v.(string); s != "" {
				return s
			}
		}
		v := h.containerdVersion()
		switch {
		case strings.HasPrefix(v, "1.6"):
			return "registry.k8s.io/pause:3.6"
		case strings.HasPrefix(v, "1."):
			return "registry.k8s.io/pause:3.8"
		}
		return "registry.k8s.io/pause:3.10"
	}
	args := k.Args
	def := "k8s.gcr.io/pause:3.6" // dockershim's default in 1.23
	if k.Endpoint != DockershimSocket {
		args, def = nil, "registry.k8s.io/pause:3.9"
		if u, ok := h.LoadUnit("cri-docker.service"); ok {
			args = h.Command(u)
		}
	}
	if p := flagValue(args, "pod-infra-container-image"); p != "" {
		return p
	}
	return def
}

// flagValue returns --name=value or --name value from a command line.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return strings.Trim(v, `"'`)
		}
		if a == "--"+name && i+1 < len(args) {
			return strings.Trim(args[i+1], `"'`)
		}
	}
	return ""
}

func minorOf(version string) int {
	var major, minor int
	_, _ = fmt.Sscanf(strings.TrimPrefix(version, "v"), "%d.%d", &major, &minor)
	return minor
}
