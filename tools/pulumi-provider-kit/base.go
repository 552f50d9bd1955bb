package providerkit

import (
	"context"
	"fmt"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Base is the part of a stand-in provider that is the same in every plugin: its info and schema
// stub, CheckConfig against the config's fields, and refusing functions and nothing to cancel.
// A plugin embeds it (in place of pulumirpc.UnimplementedResourceProviderServer, which it carries).
type Base struct {
	pulumirpc.UnimplementedResourceProviderServer
	// Package is the Pulumi package ("docker"), Plugin the binary's name ("pulumi-resource-docker"),
	// Version the SDK version the plugin answers for.
	Package, Plugin, Version string
	// ConfigSpec is the provider configuration's fields.
	ConfigSpec Spec
}

func (b *Base) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: b.Version}, nil
}

func (b *Base) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, b.Package, b.Version)}, nil
}

func (b *Base) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := Unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	failures := CheckFields(b.Plugin, b.Package+" provider config", "", news, b.ConfigSpec)
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (b *Base) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, fmt.Errorf("function %q is not implemented by Lakeform's stand-in %s (see tools/%s/SUPPORTED.md)", req.GetTok(), b.Plugin, b.Plugin)
}

func (b *Base) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
