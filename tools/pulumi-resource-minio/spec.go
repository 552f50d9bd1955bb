package main

// The input fields each resource type accepts, which replace on change, and their defaults. Check
// refuses every field not listed, naming it. (The same small field-list machinery as
// tools/pulumi-resource-docker/spec.go: each plugin is its own Go module, built on its own.)

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// field describes one input property.
type field struct {
	// replace: a change to this field replaces the resource (upstream's ForceNew).
	replace bool
	// nested: the fields of an object, or of each object in a list of objects.
	nested spec
	// def: the default Check fills in when the field is absent (nil: none).
	def *resource.PropertyValue
	// required: Check fails when the field is absent.
	required bool
}

type spec map[string]*field

func (s spec) names() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// checkFields walks the inputs against the spec: unknown fields and missing required ones become
// check failures; absent fields with a default get it. Values not yet known (preview) are left alone.
func checkFields(plugin, typ, path string, m resource.PropertyMap, s spec) []*pulumirpc.CheckFailure {
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
		if f.nested == nil || v.ContainsUnknowns() && !v.IsObject() && !v.IsArray() {
			continue
		}
		switch {
		case v.IsObject():
			failures = append(failures, checkFields(plugin, typ, path+k+".", v.ObjectValue(), f.nested)...)
		case v.IsArray():
			for i, e := range v.ArrayValue() {
				if e.IsObject() {
					failures = append(failures, checkFields(plugin, typ, fmt.Sprintf("%s%s[%d].", path, k, i), e.ObjectValue(), f.nested)...)
				}
			}
		}
	}
	for k, f := range s {
		if _, ok := m[resource.PropertyKey(k)]; ok {
			continue
		}
		if f.required {
			failures = append(failures, &pulumirpc.CheckFailure{Property: path + k, Reason: fmt.Sprintf("%s: missing required field %q", typ, path+k)})
		} else if f.def != nil {
			m[resource.PropertyKey(k)] = *f.def
		}
	}
	return failures
}

// diffFields compares old and new inputs on the spec's top-level fields. A field whose new value
// isn't known yet counts as changed.
func diffFields(olds, news resource.PropertyMap, s spec) (changed, replaces []string) {
	for k, f := range s {
		ov, nv := olds[resource.PropertyKey(k)], news[resource.PropertyKey(k)]
		if ov.IsNull() && nv.IsNull() {
			continue
		}
		if nv.ContainsUnknowns() || !ov.DeepEquals(nv) {
			changed = append(changed, k)
			if f.replace {
				replaces = append(replaces, k)
			}
		}
	}
	sort.Strings(changed)
	sort.Strings(replaces)
	return changed, replaces
}

func diffResponse(changed, replaces []string, deleteBeforeReplace bool) *pulumirpc.DiffResponse {
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

func rep() *field                             { return &field{replace: true} }
func upd() *field                             { return &field{} }
func str(s string) *resource.PropertyValue    { v := resource.NewStringProperty(s); return &v }
func boolean(b bool) *resource.PropertyValue  { v := resource.NewBoolProperty(b); return &v }
func updDef(d *resource.PropertyValue) *field { return &field{def: d} }

const tBucket = "minio:index/s3Bucket:S3Bucket"

// Upstream (terraform-provider-minio's minio_s3_bucket): bucket and bucketPrefix replace; acl
// (default private) updates in place; forceDestroy (default false) only matters at delete.
var bucketSpec = spec{
	"bucket":       rep(),
	"bucketPrefix": rep(),
	"acl":          updDef(str("private")),
	"forceDestroy": updDef(boolean(false)),
}

var configSpec = spec{
	"minioServer": upd(), "minioUser": upd(), "minioPassword": upd(), "minioRegion": upd(), "minioSsl": upd(), "version": upd(),
}
