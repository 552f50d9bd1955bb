package main

// The input fields each resource type accepts, which replace on change, and their defaults. Check
// refuses every field not listed, naming it (tools/pulumi-provider-kit's field-list machinery,
// shared with tools/pulumi-resource-docker).

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Shorthands for building specs (spec, field and the defaults str, boolean and num are
// tools/pulumi-provider-kit's, through kit.go).
func rep() *field                             { return &field{Replace: true} }
func upd() *field                             { return &field{} }
func updDef(d *resource.PropertyValue) *field { return &field{Def: d} }

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
