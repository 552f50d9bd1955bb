package main

// The input fields each resource type accepts, which of them replace the resource when they
// change, and their defaults. Check refuses every field not listed here, naming it: a stand-in
// that silently ignored a field would make a program look like it worked when it didn't.

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

func str(s string) *resource.PropertyValue   { v := resource.NewStringProperty(s); return &v }
func boolean(b bool) *resource.PropertyValue { v := resource.NewBoolProperty(b); return &v }
func num(n float64) *resource.PropertyValue  { v := resource.NewNumberProperty(n); return &v }

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

// Shorthands for building specs.
func rep(nested spec) *field { return &field{replace: true, nested: nested} }
func upd() *field            { return &field{} }
func repDef(d *resource.PropertyValue) *field {
	return &field{replace: true, def: d}
}
func updDef(d *resource.PropertyValue) *field { return &field{def: d} }
func required(f *field) *field                { f.required = true; return f }

var labelSpec = spec{"label": required(rep(nil)), "value": required(rep(nil))}

var networkSpec = spec{
	"name":       rep(nil),
	"driver":     repDef(str("bridge")),
	"internal":   repDef(boolean(false)),
	"attachable": repDef(boolean(false)),
	"labels":     rep(labelSpec),
	"options":    rep(nil),
}

var volumeSpec = spec{
	"name":       rep(nil),
	"driver":     repDef(str("local")),
	"driverOpts": rep(nil),
	"labels":     rep(labelSpec),
}

var remoteImageSpec = spec{
	"name":        required(rep(nil)),
	"keepLocally": upd(),
	"forceRemove": upd(),
	"triggers":    rep(nil),
	"build": rep(spec{
		"context":     required(rep(nil)),
		"dockerfile":  repDef(str("Dockerfile")),
		"buildArgs":   rep(nil),
		"target":      rep(nil),
		"label":       rep(nil),
		"labels":      rep(nil),
		"noCache":     rep(nil),
		"networkMode": rep(nil),
		"extraHosts":  rep(nil),
	}),
}

// The native v4 Image: every change is an update (a rebuild), as upstream.
var imageSpec = spec{
	"imageName":      required(upd()),
	"skipPush":       updDef(boolean(false)),
	"buildOnPreview": updDef(boolean(false)),
	"build": {nested: spec{
		"context":       upd(),
		"dockerfile":    upd(),
		"args":          upd(),
		"target":        upd(),
		"contextDigest": upd(),
	}},
}

var containerSpec = spec{
	"image":       required(rep(nil)),
	"name":        rep(nil),
	"command":     rep(nil),
	"entrypoints": rep(nil),
	"envs":        rep(nil),
	"labels":      rep(labelSpec),
	"hostname":    rep(nil),
	"user":        rep(nil),
	"workingDir":  rep(nil),
	"stopSignal":  rep(nil),
	"stopTimeout": rep(nil),
	"init":        rep(nil),
	"ports": rep(spec{
		"internal": required(rep(nil)),
		"external": rep(nil),
		"ip":       repDef(str("0.0.0.0")),
		"protocol": repDef(str("tcp")),
	}),
	"volumes": rep(spec{
		"volumeName":    rep(nil),
		"hostPath":      rep(nil),
		"containerPath": rep(nil),
		"readOnly":      rep(nil),
	}),
	"mounts": rep(spec{
		"type":     required(rep(nil)),
		"source":   rep(nil),
		"target":   required(rep(nil)),
		"readOnly": rep(nil),
	}),
	"uploads": rep(spec{
		"file":          required(rep(nil)),
		"content":       rep(nil),
		"contentBase64": rep(nil),
		"source":        rep(nil),
		"executable":    repDef(boolean(false)),
		"permissions":   rep(nil),
	}),
	"networksAdvanced": rep(spec{
		"name":    required(rep(nil)),
		"aliases": rep(nil),
	}),
	"networkMode": repDef(str("bridge")),
	// Upstream updates the healthcheck in state without applying it; a container's health check
	// can't change in place, so here a change replaces.
	"healthcheck": rep(spec{
		"tests":         required(rep(nil)),
		"interval":      repDef(str("0s")),
		"timeout":       repDef(str("0s")),
		"startPeriod":   repDef(str("0s")),
		"startInterval": repDef(str("0s")),
		"retries":       repDef(num(0)),
	}),
	"restart":             updDef(str("no")),
	"maxRetryCount":       upd(),
	"memory":              upd(),
	"start":               updDef(boolean(true)),
	"mustRun":             updDef(boolean(true)),
	"wait":                updDef(boolean(false)),
	"waitTimeout":         updDef(num(60)),
	"destroyGraceSeconds": upd(),
	"removeVolumes":       updDef(boolean(true)),
	"logs":                updDef(boolean(false)),
	"attach":              updDef(boolean(false)),
}

var configSpec = spec{"host": upd(), "version": upd()}
