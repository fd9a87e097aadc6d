package hostconf

import "slices"

// DeepCopy returns a copy of o that shares no memory with it. The plan
// that holds an Output is a runtime.Object, which must copy deeply.
func (o *Output) DeepCopy() *Output {
	if o == nil {
		return nil
	}
	out := *o
	if o.Files != nil {
		out.Files = make([]File, len(o.Files))
		for i := range o.Files {
			out.Files[i] = o.Files[i].DeepCopy()
		}
	}
	out.Copies = CopyOps(o.Copies)
	out.Losses = slices.Clone(o.Losses)
	if o.KubeletLogMax != nil {
		m := *o.KubeletLogMax
		out.KubeletLogMax = &m
	}
	out.RemovedFlags = slices.Clone(o.RemovedFlags)
	return &out
}

// DeepCopy returns a copy of f that shares no memory with it.
func (f File) DeepCopy() File {
	f.Content = slices.Clone(f.Content)
	f.Before = slices.Clone(f.Before)
	f.Edits = slices.Clone(f.Edits)
	return f
}

// CopyOps returns a deep copy of ops.
func CopyOps(ops []CopyOp) []CopyOp {
	if ops == nil {
		return nil
	}
	out := make([]CopyOp, len(ops))
	for i, op := range ops {
		op.Files = slices.Clone(op.Files)
		out[i] = op
	}
	return out
}
