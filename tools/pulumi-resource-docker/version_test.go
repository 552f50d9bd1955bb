package main

import (
	"testing"

	"lakeform.local/pulumi-provider-kit/kittest"
)

// The engine asks for the plugin version of the installed @pulumi/docker SDK; install-pulumi.sh
// stamps that version in at build time, and the default here must name the same one.
func TestVersionMatchesInstalledSDK(t *testing.T) {
	kittest.SDKVersionMatches(t, "docker", version)
}
