package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The engine asks for the plugin version of the installed @pulumi/docker SDK; install-pulumi.sh
// stamps that version in at build time, and the default here must name the same one, so a plain
// `go build` answers for it too. Bump both together.
func TestVersionMatchesInstalledSDK(t *testing.T) {
	root := os.Getenv("LAKEFORM_ROOT")
	if root == "" {
		root, _ = filepath.Abs("../..")
	}
	b, err := os.ReadFile(filepath.Join(root, "node_modules", "@pulumi", "docker", "package.json"))
	if err != nil {
		t.Skip("no node_modules/@pulumi/docker (npm ci)")
	}
	var pkg struct {
		Version string `json:"version"`
		Pulumi  struct {
			Version string `json:"version"`
		} `json:"pulumi"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	want := pkg.Pulumi.Version
	if want == "" {
		want = pkg.Version
	}
	if version != want {
		t.Fatalf("plugin version %s, but @pulumi/docker %s asks for %s", version, pkg.Version, want)
	}
}
