// Lakeform's stand-in for the @pulumi/docker resource provider plugin.
//
// The real plugin is downloaded at `pulumi up` from release pages that our machines can't reach,
// and the Go module proxy refuses the pulumi-docker provider module. This plugin speaks the same
// gRPC protocol (pulumirpc.ResourceProvider) for exactly the resource types and fields Lakeform
// declares (SUPPORTED.md), with the real provider's semantics, through the Docker Engine's Go
// client. Any other field is refused in Check. scripts/install-pulumi.sh builds it only when the
// real plugin is absent; the engine finds it on PATH.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is the @pulumi/docker version this stand-in answers for (set at build time from
// package.json by scripts/install-pulumi.sh).
var version = "4.11.2"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println(version)
		return
	}
	err := provider.Main("docker", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newProvider(host), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-docker: %v\n", err)
		os.Exit(1)
	}
}
