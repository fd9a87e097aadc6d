package applets

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/crimig/kubectl-crimig/test/sim/host"
)

// The image subcommands of docker, podman, ctr and crictl work on the
// host's image stores (host.ImagesDir): docker's, containers-storage
// (shared by CRI-O and podman) and containerd's per namespace. Archives
// are what `docker save` writes: a tar with manifest.json whose RepoTags
// name the images, without layers.

// archiveEntry is one manifest.json entry of a docker-archive.
type archiveEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// writeArchive writes a docker-archive of refs to file.
func writeArchive(file string, refs []string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	var manifest []archiveEntry
	repos := map[string]map[string]string{}
	for _, r := range refs {
		id := host.ImageID(r)
		cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "config": map[string]any{}})
		if err := add(id+".json", cfg); err != nil {
			return err
		}
		fam := host.FamiliarImage(r)
		manifest = append(manifest, archiveEntry{Config: id + ".json", RepoTags: []string{fam}, Layers: []string{}})
		repo, tag := host.SplitImage(fam)
		if repos[repo] == nil {
			repos[repo] = map[string]string{}
		}
		repos[repo][tag] = id
	}
	m, _ := json.Marshal(manifest)
	if err := add("manifest.json", m); err != nil {
		return err
	}
	r, _ := json.Marshal(repos)
	if err := add("repositories", r); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o600)
}

var errNotArchive = errors.New("not a docker-archive")

// readArchive returns the normalised references in a docker-archive.
func readArchive(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil, errNotArchive
		}
		if hdr.Name != "manifest.json" {
			continue
		}
		var manifest []archiveEntry
		if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
			return nil, errNotArchive
		}
		var refs []string
		for _, m := range manifest {
			for _, t := range m.RepoTags {
				refs = append(refs, host.NormalizeImage(t))
			}
		}
		return refs, nil
	}
}

// localPath maps a path given to a stub to the file it names.
func localPath(e *Env, p string) string {
	if filepath.IsAbs(p) {
		return e.Host.P(p)
	}
	return p
}

// imageRow is what --format templates of the image lists see.
type imageRow struct {
	Repository, Tag, ID, Size string
}

func rowOf(ref string, familiar bool) imageRow {
	name := host.NormalizeImage(ref)
	if familiar {
		name = host.FamiliarImage(ref)
	}
	repo, tag := host.SplitImage(name)
	return imageRow{Repository: repo, Tag: tag, ID: host.ImageID(ref)[:12], Size: humanSize(host.ImageSize(ref))}
}

func humanSize(b int64) string {
	return fmt.Sprintf("%.3gMB", float64(b)/1e6)
}

// listImages prints a store the way `docker images` and `podman images` do.
func listImages(e *Env, store string, args []string, familiar bool) int {
	flags, rest := valueFlags(args, "format", "filter", "f")
	format := flags["format"]
	var refs []string
	for _, img := range e.Host.Images(store) {
		if len(rest) > 0 {
			repo, _ := host.SplitImage(host.NormalizeImage(rest[0]))
			if r, _ := host.SplitImage(host.NormalizeImage(img)); r != repo {
				continue
			}
		}
		refs = append(refs, img)
	}
	switch {
	case has(flags, "q", "quiet"):
		for _, r := range refs {
			e.out("%s", rowOf(r, familiar).ID)
		}
	case format != "":
		tmpl, err := template.New("f").Parse(strings.TrimPrefix(format, "table "))
		if err != nil {
			e.errf("Error: template parsing error: %v", err)
			return 125
		}
		for _, r := range refs {
			_ = tmpl.Execute(e.Stdout, rowOf(r, familiar))
			fmt.Fprintln(e.Stdout)
		}
	default:
		tw := tabwriter.NewWriter(e.Stdout, 0, 8, 3, ' ', 0)
		if !has(flags, "n", "noheading") {
			fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
		}
		for _, r := range refs {
			row := rowOf(r, familiar)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", row.Repository, row.Tag, row.ID, "2 months ago", row.Size)
		}
		_ = tw.Flush()
	}
	return 0
}

// valueFlags is flagsAndArgs for commands whose named flags take a value
// (-o FILE, --format F, -n NS); the other flags are booleans.
func valueFlags(args []string, names ...string) (map[string]string, []string) {
	takes := map[string]bool{}
	for _, n := range names {
		takes[n] = true
	}
	flags := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(rest, args[i+1:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			rest = append(rest, a)
			continue
		}
		name, v, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if takes[name] {
			if !hasValue && i+1 < len(args) {
				v = args[i+1]
				i++
			}
			flags[name] = v
			continue
		}
		if strings.HasPrefix(a, "--") {
			flags[name] = "true"
			continue
		}
		for _, c := range name {
			flags[string(c)] = "true"
		}
	}
	return flags, rest
}

// dockerImageCmd handles docker's image subcommands (docker is running).
func dockerImageCmd(e *Env, args []string) (int, bool) {
	sub, rest, underImage := imageSubcommand(args)
	if sub == "inspect" && !underImage {
		// docker inspect of any object: only --type image is ours.
		if flags, _ := valueFlags(rest, "type", "format", "f"); flags["type"] != "image" {
			return 0, false
		}
	}
	switch sub {
	case "images":
		return listImages(e, host.StoreDocker, rest, true), true
	case "inspect":
		return inspectImages(e, host.StoreDocker, rest, "Error: No such image: %s"), true
	case "save":
		return dockerSave(e, rest), true
	case "load":
		return loadArchive(e, host.StoreDocker, rest, "Loaded image: %s", true), true
	case "pull":
		return pull(e, "docker", rest), true
	case "rmi":
		return removeImages(e, host.StoreDocker, rest, "Untagged: %s", "Error: No such image: %s"), true
	}
	return 0, false
}

// imageSubcommand is the subcommand of a docker or podman command line and
// its other arguments. Under "image" (underImage), "ls"/"list" and "rm" read
// as "images" and "rmi".
func imageSubcommand(args []string) (sub string, rest []string, underImage bool) {
	sub, rest = first(args), afterFirst(args)
	if sub != "image" {
		return sub, rest, false
	}
	sub, rest = first(rest), afterFirst(rest)
	switch sub {
	case "ls", "list":
		sub = "images"
	case "rm":
		sub = "rmi"
	}
	return sub, rest, true
}

func afterFirst(args []string) []string {
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			return append(append([]string{}, args[:i]...), args[i+1:]...)
		}
	}
	return nil
}

// inspectImages prints image objects as `docker image inspect` does.
func inspectImages(e *Env, store string, args []string, missing string) int {
	flags, refs := valueFlags(args, "format", "f", "type")
	format := flags["format"]
	if format == "" {
		format = flags["f"]
	}
	var tmpl *template.Template
	if format != "" {
		var err error
		if tmpl, err = template.New("f").Parse(format); err != nil {
			e.errf("template parsing error: %v", err)
			return 1
		}
	}
	var found []map[string]any
	code := 0
	for _, r := range refs {
		if !e.Host.HasImage(store, r) {
			e.errf(missing, r)
			code = 1
			continue
		}
		obj := map[string]any{"Id": "sha256:" + host.ImageID(r), "RepoTags": []string{host.FamiliarImage(r)}, "Size": host.ImageSize(r),
			"Architecture": "amd64", "Os": "linux"}
		if tmpl != nil {
			_ = tmpl.Execute(e.Stdout, obj)
			fmt.Fprintln(e.Stdout)
			continue
		}
		found = append(found, obj)
	}
	if tmpl == nil {
		if found == nil {
			found = []map[string]any{}
		}
		b, _ := json.MarshalIndent(found, "", "    ")
		e.out("%s", b)
	}
	return code
}

// docker save [-o FILE] IMAGE...
func dockerSave(e *Env, args []string) int {
	flags, refs := valueFlags(args, "o", "output")
	out := flags["output"]
	if out == "" {
		out = flags["o"]
	}
	if len(refs) == 0 {
		e.errf("\"docker save\" requires at least 1 argument.")
		return 1
	}
	if out == "" {
		e.errf("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		return 1
	}
	for _, r := range refs {
		if !e.Host.HasImage(host.StoreDocker, r) {
			e.errf("Error response from daemon: reference does not exist: An image does not exist locally with the tag: %s", r)
			return 1
		}
	}
	if err := writeArchive(localPath(e, out), refs); err != nil {
		e.errf("failed to save image: %v", err)
		return 1
	}
	return 0
}

// loadArchive adds the images of a docker-archive to a store.
func loadArchive(e *Env, store string, args []string, loaded string, familiar bool) int {
	flags, rest := valueFlags(args, "i", "input")
	in := flags["input"]
	if in == "" {
		in = flags["i"]
	}
	if in == "" && len(rest) > 0 {
		in = rest[0]
	}
	if in == "" {
		e.errf("Error: no archive given: use -i FILE")
		return 125
	}
	refs, err := readArchive(localPath(e, in))
	switch {
	case errors.Is(err, os.ErrNotExist):
		e.errf("Error: open %s: no such file or directory", in)
		return 125
	case err != nil:
		e.errf("Error: payload does not match any of the supported image formats:\n * oci: initializing source oci:%s: open %s/index.json: not a directory\n * docker-archive: loading tar component manifest.json: file does not exist", in, in)
		return 125
	}
	if _, err := e.Host.AddImages(store, refs...); err != nil {
		e.errf("Error: %v", err)
		return 125
	}
	if !has(flags, "q", "quiet") {
		for _, r := range refs {
			name := r
			if familiar {
				name = host.FamiliarImage(r)
			}
			e.out(loaded, name)
		}
	}
	return 0
}

// pull fetches an image into runtime's store, or fails as it does offline.
func pull(e *Env, runtime string, args []string) int {
	_, refs := valueFlags(args, "platform", "creds", "authfile")
	if len(refs) == 0 {
		e.errf("Error: requires at least 1 arg")
		return 125
	}
	if err := e.Host.Pull(runtime, refs[0], true); err != nil {
		e.errf("%v", err)
		if runtime == "crio" {
			return 125
		}
		return 1
	}
	e.out("%s", host.NormalizeImage(refs[0]))
	return 0
}

func removeImages(e *Env, store string, args []string, removed, missing string) int {
	_, refs := valueFlags(args)
	code := 0
	for _, r := range refs {
		if ok, _ := e.Host.RemoveImage(store, r); !ok {
			e.errf(missing, r)
			code = 1
			continue
		}
		e.out(removed, r)
	}
	return code
}

// podmanImageCmd handles podman's image subcommands. Podman works on
// containers-storage directly, without a daemon: at its default root, or
// at --root.
func podmanImageCmd(e *Env, root string, args []string) (int, bool) {
	store := host.ContainersStore(root)
	sub, rest, _ := imageSubcommand(args)
	switch sub {
	case "images":
		return listImages(e, store, rest, false), true
	case "exists":
		_, refs := valueFlags(rest)
		if len(refs) == 1 && e.Host.HasImage(store, refs[0]) {
			return 0, true
		}
		return 1, true
	case "inspect":
		return inspectImages(e, store, rest, "Error: %s: image not known"), true
	case "load":
		return loadArchive(e, store, rest, "Loaded image: %s", false), true
	case "pull":
		if err := e.Host.CheckRegistries(); err != nil {
			e.errf("Error: %s", err)
			return 125, true
		}
		return pull(e, "crio", rest), true
	case "rmi":
		return removeImages(e, store, rest, "Untagged: %s", "Error: %s: image not known"), true
	}
	return 0, false
}

// podmanRoot takes podman's global --root flag off args.
func podmanRoot(args []string) (root string, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case !strings.HasPrefix(a, "-"):
			return root, append(rest, args[i:]...)
		case a == "--root" && i+1 < len(args):
			root = args[i+1]
			i++
		case strings.HasPrefix(a, "--root="):
			root = strings.TrimPrefix(a, "--root=")
		default:
			rest = append(rest, a)
		}
	}
	return root, rest
}

// ctrImageCmd handles `ctr [-n NS] images import|ls|pull|rm` (containerd
// is running).
func ctrImageCmd(e *Env, args []string) (int, bool) {
	ns := os.Getenv("CONTAINERD_NAMESPACE")
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, v, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case len(rest) > 0 || !strings.HasPrefix(a, "-"):
			rest = append(rest, a)
		case name == "n" || name == "namespace":
			if !hasValue && i+1 < len(args) {
				v = args[i+1]
				i++
			}
			ns = v
		case name == "a" || name == "address" || name == "timeout" || name == "connect-timeout":
			if !hasValue {
				i++
			}
		}
	}
	if len(rest) == 0 || (rest[0] != "images" && rest[0] != "image" && rest[0] != "i") {
		return 0, false
	}
	if ns == "" {
		ns = "default"
	}
	store := host.ContainerdStore(ns)
	sub, sargs := first(rest[1:]), afterFirst(rest[1:])
	switch sub {
	case "import":
		_, files := valueFlags(sargs, "base-name", "index-name", "platform", "snapshotter")
		if len(files) == 0 {
			e.errf("ctr: no input file given")
			return 1, true
		}
		refs, err := readArchive(localPath(e, files[0]))
		switch {
		case errors.Is(err, os.ErrNotExist):
			e.errf("ctr: open %s: no such file or directory", files[0])
			return 1, true
		case err != nil:
			e.errf("ctr: unrecognized image format")
			return 1, true
		}
		if _, err := e.Host.AddImages(store, refs...); err != nil {
			e.errf("ctr: %v", err)
			return 1, true
		}
		for _, r := range refs {
			e.out("unpacking %s (sha256:%s)...done", r, host.ImageID(r))
		}
		return 0, true
	case "ls", "list":
		flags, _ := valueFlags(sargs)
		if has(flags, "q", "quiet") {
			for _, r := range e.Host.Images(store) {
				e.out("%s", r)
			}
			return 0, true
		}
		tw := tabwriter.NewWriter(e.Stdout, 0, 8, 1, ' ', 0)
		fmt.Fprintln(tw, "REF\tTYPE\tDIGEST\tSIZE\tPLATFORMS\tLABELS")
		for _, r := range e.Host.Images(store) {
			label := "-"
			if ns == "k8s.io" {
				label = "io.cri-containerd.image=managed"
			}
			fmt.Fprintf(tw, "%s\tapplication/vnd.docker.distribution.manifest.v2+json\tsha256:%s\t%.1f MiB\tlinux/amd64\t%s\n",
				r, host.ImageID(r), float64(host.ImageSize(r))/(1<<20), label)
		}
		_ = tw.Flush()
		return 0, true
	case "pull":
		if store != host.StoreContainerd {
			// Only the k8s.io namespace is modelled as a pull target.
			e.errf("ctr: pulls into namespace %q are not simulated", ns)
			return 1, true
		}
		return pull(e, "containerd", sargs), true
	case "rm", "remove", "delete", "del":
		return removeImages(e, store, sargs, "%s", "ctr: image %q: not found"), true
	}
	return 0, false
}

// crictlImages lists or pulls images of the runtime crictl talks to
// (docker, crio or containerd).
func crictlImages(e *Env, runtime string, args []string) int {
	store := e.Host.RuntimeStore(runtime)
	flags, rest := valueFlags(args, "creds", "auth", "pod-config", "r", "runtime-endpoint", "i", "image-endpoint", "o", "output", "t", "timeout", "c", "config")
	if len(rest) > 0 && rest[0] == "pull" {
		refs := rest[1:]
		if len(refs) == 0 {
			e.errf("FATA[0000] pulling image: image name cannot be empty")
			return 1
		}
		if err := e.Host.Pull(runtime, refs[0], true); err != nil {
			e.errf("FATA[0000] pulling image: %v", err)
			return 1
		}
		e.out("Image is up to date for sha256:%s", host.ImageID(refs[0]))
		return 0
	}
	if has(flags, "q", "quiet") {
		for _, r := range e.Host.Images(store) {
			e.out("sha256:%s", host.ImageID(r))
		}
		return 0
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tTAG\tIMAGE ID\tSIZE")
	for _, r := range e.Host.Images(store) {
		repo, tag := host.SplitImage(host.NormalizeImage(r))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", repo, tag, host.ImageID(r)[:13], humanSize(host.ImageSize(r)))
	}
	_ = tw.Flush()
	return 0
}
