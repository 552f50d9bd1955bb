// Package kittest holds what the stand-in plugins' tests share.
package kittest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// SDKVersionMatches fails unless version is the plugin version the installed @pulumi/<pkg> SDK
// asks the engine for. install-pulumi.sh stamps that version in at build time, and each plugin's
// default must name the same one, so a plain `go build` answers for it too: bump both together.
// Skipped without node_modules (before npm ci).
func SDKVersionMatches(t *testing.T, pkg, version string) {
	t.Helper()
	root := os.Getenv("LAKEFORM_ROOT")
	if root == "" {
		root, _ = filepath.Abs("../..")
	}
	b, err := os.ReadFile(filepath.Join(root, "node_modules", "@pulumi", pkg, "package.json"))
	if err != nil {
		t.Skipf("no node_modules/@pulumi/%s (npm ci)", pkg)
	}
	var sdk struct {
		Version string `json:"version"`
		Pulumi  struct {
			Version string `json:"version"`
		} `json:"pulumi"`
	}
	if err := json.Unmarshal(b, &sdk); err != nil {
		t.Fatal(err)
	}
	want := sdk.Pulumi.Version
	if want == "" {
		want = sdk.Version
	}
	if version != want {
		t.Fatalf("plugin version %s, but @pulumi/%s %s asks for %s", version, pkg, sdk.Version, want)
	}
}
