package main

// The input fields each resource type accepts, which of them replace the resource when they
// change, and their defaults. Check refuses every field not listed here, naming it: a stand-in
// that silently ignored a field would make a program look like it worked when it didn't.

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Shorthands for building specs (spec, field and the defaults str, boolean and num are
// tools/pulumi-provider-kit's, through kit.go).
func rep(nested spec) *field { return &field{Replace: true, Nested: nested} }
func upd() *field            { return &field{} }
func repDef(d *resource.PropertyValue) *field {
	return &field{Replace: true, Def: d}
}
func updDef(d *resource.PropertyValue) *field { return &field{Def: d} }
func required(f *field) *field                { f.Required = true; return f }

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
	"build": {Nested: spec{
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
