package inspect

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/randfill"
)

// TestPlanDeepCopy fills every field of a plan, the host changes included,
// and checks that the copy is equal and shares no slice, map or pointer
// with the original: a field added later without a copy fails here.
func TestPlanDeepCopy(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		var p Plan
		randfill.NewWithSeed(seed).NilChance(0.1).NumElements(1, 3).Fill(&p)
		c := p.DeepCopyObject().(*Plan)
		if diff := cmp.Diff(&p, c); diff != "" {
			t.Fatalf("seed %d: the copy differs (-orig +copy):\n%s", seed, diff)
		}
		if path := sharedMemory(reflect.ValueOf(p), reflect.ValueOf(*c), "plan"); path != "" {
			t.Fatalf("seed %d: the copy shares %s with the original", seed, path)
		}
	}
	var nilPlan *Plan
	if nilPlan.DeepCopy() != nil {
		t.Error("a nil plan copies to a non-nil one")
	}
}

// sharedMemory returns the path of the first non-empty slice, map or
// pointer that a and b share, or "".
func sharedMemory(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		return sharedMemory(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := 0; i < a.Len(); i++ {
			if p := sharedMemory(a.Index(i), b.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if p := sharedMemory(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	}
	return ""
}

func TestPlanKind(t *testing.T) {
	p := &Plan{DocumentMeta: NewDocumentMeta("Plan")}
	want := schema.GroupVersionKind{Group: "crimig.io", Version: "v1alpha1", Kind: "Plan"}
	if got := p.GetObjectKind().GroupVersionKind(); got != want {
		t.Errorf("kind %v, want %v", got, want)
	}
	p.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Group: "crimig.io", Version: "v1beta1", Kind: "Plan"})
	if p.APIVersion != "crimig.io/v1beta1" || p.Kind != "Plan" {
		t.Errorf("SetGroupVersionKind: apiVersion %q kind %q", p.APIVersion, p.Kind)
	}
}
