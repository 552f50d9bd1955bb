// Package providerkit is what Lakeform's stand-in provider plugins (tools/pulumi-resource-docker,
// tools/pulumi-resource-minio) share: the field lists Check holds inputs to, the diff they
// answer from them, property helpers, and the gRPC methods that are the same in both. Each plugin
// is its own Go module and takes this one through a `replace` to ../pulumi-provider-kit.
package providerkit

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Field describes one input property.
type Field struct {
	// Replace: a change to this field replaces the resource (upstream's ForceNew).
	Replace bool
	// Nested: the fields of an object, or of each object in a list of objects.
	Nested Spec
	// Def: the default Check fills in when the field is absent (nil: none).
	Def *resource.PropertyValue
	// Required: Check fails when the field is absent.
	Required bool
}

// Spec is the input fields a resource type accepts. Check refuses every field not listed,
// naming it: a stand-in that silently ignored a field would make a program look like it worked
// when it didn't.
type Spec map[string]*Field

func (s Spec) names() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// Str, Bool and Num are defaults for Field.Def.
func Str(s string) *resource.PropertyValue  { v := resource.NewStringProperty(s); return &v }
func Bool(b bool) *resource.PropertyValue   { v := resource.NewBoolProperty(b); return &v }
func Num(n float64) *resource.PropertyValue { v := resource.NewNumberProperty(n); return &v }

// CheckFields walks the inputs against the spec: unknown fields and missing required ones become
// check failures; absent fields with a default get it. Values not yet known (preview) are left alone.
func CheckFields(plugin, typ, path string, m resource.PropertyMap, s Spec) []*pulumirpc.CheckFailure {
	var failures []*pulumirpc.CheckFailure
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[resource.PropertyKey(k)]
		f, ok := s[k]
		if !ok {
			if v.IsNull() {
				delete(m, resource.PropertyKey(k))
				continue
			}
			failures = append(failures, &pulumirpc.CheckFailure{
				Property: path + k,
				Reason: fmt.Sprintf("%s: field %q is not implemented by Lakeform's stand-in %s (it implements: %s; see tools/%s/SUPPORTED.md)",
					typ, path+k, plugin, s.names(), plugin),
			})
			continue
		}
		if f.Nested == nil || v.ContainsUnknowns() && !v.IsObject() && !v.IsArray() {
			continue
		}
		switch {
		case v.IsObject():
			failures = append(failures, CheckFields(plugin, typ, path+k+".", v.ObjectValue(), f.Nested)...)
		case v.IsArray():
			for i, e := range v.ArrayValue() {
				if e.IsObject() {
					failures = append(failures, CheckFields(plugin, typ, fmt.Sprintf("%s%s[%d].", path, k, i), e.ObjectValue(), f.Nested)...)
				}
			}
		}
	}
	for k, f := range s {
		if _, ok := m[resource.PropertyKey(k)]; ok {
			continue
		}
		if f.Required {
			failures = append(failures, &pulumirpc.CheckFailure{Property: path + k, Reason: fmt.Sprintf("%s: missing required field %q", typ, path+k)})
		} else if f.Def != nil {
			m[resource.PropertyKey(k)] = *f.Def
		}
	}
	return failures
}

// DiffFields compares old and new inputs on the spec's top-level fields. A field whose new value
// isn't known yet counts as changed.
func DiffFields(olds, news resource.PropertyMap, s Spec) (changed, replaces []string) {
	for k, f := range s {
		ov, nv := olds[resource.PropertyKey(k)], news[resource.PropertyKey(k)]
		if ov.IsNull() && nv.IsNull() {
			continue
		}
		if nv.ContainsUnknowns() || !ov.DeepEquals(nv) {
			changed = append(changed, k)
			if f.Replace {
				replaces = append(replaces, k)
			}
		}
	}
	sort.Strings(changed)
	sort.Strings(replaces)
	return changed, replaces
}

// DiffResponse answers a Diff: no change, or the changed fields with those that replace.
func DiffResponse(changed, replaces []string, deleteBeforeReplace bool) *pulumirpc.DiffResponse {
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}
	}
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for _, k := range changed {
		kind := pulumirpc.PropertyDiff_UPDATE
		for _, r := range replaces {
			if r == k {
				kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
			}
		}
		detailed[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	return &pulumirpc.DiffResponse{
		Changes:             pulumirpc.DiffResponse_DIFF_SOME,
		Diffs:               changed,
		Replaces:            replaces,
		DeleteBeforeReplace: deleteBeforeReplace && len(replaces) > 0,
		DetailedDiff:        detailed,
		HasDetailedDiff:     true,
	}
}
