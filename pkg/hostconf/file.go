package hostconf

import "bytes"

// File is one file the plan shows and migrate writes. Before is nil when
// the file does not exist yet; Diff is empty when Content equals Before.
// Reason says why crimig writes the file at all, and Edits why each setting
// in it changes, so that a change review needs no knowledge of crimig.
type File struct {
	Path    string `json:"path"`
	Mode    uint32 `json:"mode"`
	Content []byte `json:"content"`
	Before  []byte `json:"before,omitempty"`
	Diff    string `json:"diff,omitempty"`
	Reason  string `json:"reason"`
	Edits   []Edit `json:"edits,omitempty"`
}

// Edit is one setting, flag or table that a File adds, changes or removes.
// Before is "" when the setting is new, After is "" when it is removed.
type Edit struct {
	Key    string `json:"key"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	Reason string `json:"reason"`
}

// Changed reports whether writing the file would change the host.
func (f File) Changed() bool {
	return f.Before == nil || !bytes.Equal(f.Before, f.Content)
}

func newFile(path string, mode uint32, before, after []byte, reason string, edits []Edit) File {
	if after == nil {
		after = []byte{}
	}
	return File{Path: path, Mode: mode, Content: after, Before: before, Diff: UnifiedDiff(path, before, after),
		Reason: reason, Edits: edits}
}
