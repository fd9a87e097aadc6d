package hostconf

import "bytes"

// File is one file the plan shows and migrate writes. Before is nil when
// the file does not exist yet; Diff is empty when Content equals Before.
type File struct {
	Path    string `json:"path"`
	Mode    uint32 `json:"mode"`
	Content []byte `json:"content"`
	Before  []byte `json:"before,omitempty"`
	Diff    string `json:"diff,omitempty"`
}

// Changed reports whether writing the file would change the host.
func (f File) Changed() bool {
	return f.Before == nil || !bytes.Equal(f.Before, f.Content)
}

func newFile(path string, mode uint32, before, after []byte) File {
	if after == nil {
		after = []byte{}
	}
	return File{Path: path, Mode: mode, Content: after, Before: before, Diff: UnifiedDiff(path, before, after)}
}
