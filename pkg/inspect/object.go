package inspect

import (
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/crimig/kubectl-crimig/pkg/hostconf"
)

// DocumentMeta is the apiVersion and kind that head each document crimig
// prints (the plan, version's): first in the document, as they always
// were, where metav1.TypeMeta would put kind first. It makes the document
// a schema.ObjectKind, so that cli-runtime's printers (-o json, yaml,
// jsonpath, go-template) print it as kubectl prints its objects.
type DocumentMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// NewDocumentMeta heads a document of the given kind, crimig.io/v1alpha1.
func NewDocumentMeta(kind string) DocumentMeta {
	return DocumentMeta{APIVersion: PlanAPIVersion, Kind: kind}
}

// GetObjectKind returns the document's apiVersion and kind.
func (m *DocumentMeta) GetObjectKind() schema.ObjectKind { return m }

// GroupVersionKind returns them as a GroupVersionKind.
func (m *DocumentMeta) GroupVersionKind() schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(m.APIVersion, m.Kind)
}

// SetGroupVersionKind sets apiVersion and kind.
func (m *DocumentMeta) SetGroupVersionKind(gvk schema.GroupVersionKind) {
	m.APIVersion, m.Kind = gvk.ToAPIVersionAndKind()
}

var _ runtime.Object = &Plan{}

// DeepCopyObject implements runtime.Object.
func (p *Plan) DeepCopyObject() runtime.Object {
	if c := p.DeepCopy(); c != nil {
		return c
	}
	return nil
}

// DeepCopy returns a copy of p that shares no memory with it.
func (p *Plan) DeepCopy() *Plan {
	if p == nil {
		return nil
	}
	out := *p
	out.Findings = copyFindings(p.Findings)
	if p.Nodes != nil {
		out.Nodes = make([]NodePlan, len(p.Nodes))
		for i := range p.Nodes {
			out.Nodes[i] = p.Nodes[i].DeepCopy()
		}
	}
	return &out
}

// DeepCopy returns a copy of np that shares no memory with it.
func (np NodePlan) DeepCopy() NodePlan {
	np.Findings = copyFindings(np.Findings)
	if np.Files != nil {
		files := make([]PlanFile, len(np.Files))
		for i, f := range np.Files {
			f.Edits = slices.Clone(f.Edits)
			files[i] = f
		}
		np.Files = files
	}
	np.Copies = hostconf.CopyOps(np.Copies)
	np.Images = slices.Clone(np.Images)
	np.Changes = np.Changes.DeepCopy()
	np.Steps = slices.Clone(np.Steps)
	return np
}

func copyFindings(fs []Finding) []Finding {
	if fs == nil {
		return nil
	}
	out := make([]Finding, len(fs))
	for i, f := range fs {
		f.Nodes = slices.Clone(f.Nodes)
		out[i] = f
	}
	return out
}
