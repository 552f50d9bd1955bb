// Lakeform's stand-in for the @pulumi/minio resource provider plugin.
//
// The real plugin is downloaded at `pulumi up` from release pages our machines can't reach. This
// plugin speaks the same gRPC protocol for exactly what Lakeform declares with @pulumi/minio (the
// warehouse bucket: SUPPORTED.md), with the real provider's semantics, over S3 (minio-go), and
// only to 127.0.0.1 or private addresses (our own containers). Any other field is refused in
// Check. scripts/install-pulumi.sh builds it only when the real plugin is absent.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is the @pulumi/minio version this stand-in answers for (stamped at build time).
var version = "0.17.1"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println(version)
		return
	}
	err := provider.Main("minio", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newProvider(host), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-minio: %v\n", err)
		os.Exit(1)
	}
}
