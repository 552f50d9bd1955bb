package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"sync"

	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	providerkit "lakeform.local/pulumi-provider-kit"
)

const pluginName = "pulumi-resource-docker"

const (
	tNetwork     = "docker:index/network:Network"
	tVolume      = "docker:index/volume:Volume"
	tContainer   = "docker:index/container:Container"
	tRemoteImage = "docker:index/remoteImage:RemoteImage"
	tImage       = "docker:index/image:Image"
)

var specs = map[string]spec{
	tNetwork:     networkSpec,
	tVolume:      volumeSpec,
	tContainer:   containerSpec,
	tRemoteImage: remoteImageSpec,
	tImage:       imageSpec,
}

// Resource types whose replacement must delete the old one first: their names are unique on the
// Docker host (upstream marks Container so; networks and volumes with a fixed name clash the same way).
var deleteFirst = map[string]bool{tContainer: true, tNetwork: true, tVolume: true}

type dockerProvider struct {
	providerkit.Base
	host *provider.HostClient

	mu     sync.Mutex
	dhost  string // the Docker host from config ("" = DOCKER_HOST or the local socket)
	docker *client.Client
}

func newProvider(host *provider.HostClient) *dockerProvider {
	return &dockerProvider{Base: providerkit.Base{Package: "docker", Plugin: pluginName, Version: version, ConfigSpec: configSpec}, host: host}
}

// client connects to the Docker Engine on first use, negotiating the API version (Debian's
// Engine 20.10 speaks an older API than this client's default).
func (p *dockerProvider) client() (*client.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.docker != nil {
		return p.docker, nil
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if p.dhost != "" {
		opts = append(opts, client.WithHost(p.dhost))
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to the Docker Engine: %w", err)
	}
	p.docker = c
	return c, nil
}

func (p *dockerProvider) logf(ctx context.Context, sev diag.Severity, urn string, format string, args ...any) {
	if p.host != nil {
		_ = p.host.Log(ctx, sev, resource.URN(urn), fmt.Sprintf(format, args...))
	}
}

func (p *dockerProvider) status(ctx context.Context, urn string, format string, args ...any) {
	if p.host != nil {
		_ = p.host.LogStatus(ctx, diag.Info, resource.URN(urn), fmt.Sprintf(format, args...))
	}
}

func nameOf(urn string) string { return resource.URN(urn).Name() }

func (p *dockerProvider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	changed, _ := diffFields(olds, news, spec{"host": upd()})
	return diffResponse(changed, nil, false), nil
}

func (p *dockerProvider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	host := req.GetVariables()["docker:config:host"]
	if args := req.GetArgs(); args != nil {
		if v, ok := args.GetFields()["host"]; ok && v.GetStringValue() != "" {
			host = v.GetStringValue()
		}
	}
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	p.mu.Lock()
	p.dhost = host
	p.docker = nil
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{SupportsPreview: true}, nil
}

// autoName keeps the name Check gave last time, or makes one from the resource's name plus a
// random suffix, as Pulumi's auto-naming does.
func autoName(req *pulumirpc.CheckRequest, olds resource.PropertyMap) string {
	if v := olds["name"]; v.IsString() && v.StringValue() != "" {
		return v.StringValue()
	}
	suffix := make([]byte, 4)
	if seed := req.GetRandomSeed(); len(seed) >= 4 {
		copy(suffix, seed)
	} else {
		_, _ = rand.Read(suffix)
	}
	return nameOf(req.GetUrn()) + "-" + hex.EncodeToString(suffix)[:7]
}

func (p *dockerProvider) Check(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	typ := typeOf(req.GetUrn())
	s, ok := specs[typ]
	if !ok {
		return nil, fmt.Errorf("resource type %q is not implemented by Lakeform's stand-in %s (see tools/%s/SUPPORTED.md)", typ, pluginName, pluginName)
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	failures := checkFields(pluginName, typ, "", news, s)
	if typ == tNetwork || typ == tVolume || typ == tContainer {
		if _, ok := news["name"]; !ok {
			news["name"] = resource.NewStringProperty(autoName(req, olds))
		}
	}
	switch typ {
	case tContainer:
		failures = append(failures, checkContainer(news)...)
	case tImage:
		failures = append(failures, checkImage(news)...)
	case tRemoteImage:
		failures = append(failures, checkRemoteImage(news)...)
	}
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

func (p *dockerProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	typ := typeOf(req.GetUrn())
	s, ok := specs[typ]
	if !ok {
		return nil, fmt.Errorf("resource type %q is not implemented by %s", typ, pluginName)
	}
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		// An engine that doesn't send old inputs: the state's outputs carry every input.
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	changed, replaces := diffFields(olds, news, s)
	return diffResponse(changed, replaces, deleteFirst[typ]), nil
}

func (p *dockerProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	typ := typeOf(req.GetUrn())
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		out, err := marshal(previewOutputs(typ, inputs))
		return &pulumirpc.CreateResponse{Properties: out}, err
	}
	c, err := p.client()
	if err != nil {
		return nil, err
	}
	var id string
	var outs resource.PropertyMap
	switch typ {
	case tNetwork:
		id, outs, err = createNetwork(ctx, c, inputs)
	case tVolume:
		id, outs, err = createVolume(ctx, c, inputs)
	case tContainer:
		id, outs, err = p.createContainer(ctx, c, req.GetUrn(), inputs, req.GetTimeout())
	case tRemoteImage:
		id, outs, err = p.createRemoteImage(ctx, c, req.GetUrn(), inputs)
	case tImage:
		id, outs, err = p.buildImage(ctx, c, req.GetUrn(), inputs)
	default:
		err = fmt.Errorf("resource type %q is not implemented by %s", typ, pluginName)
	}
	if err != nil {
		return nil, err
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *dockerProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	typ := typeOf(req.GetUrn())
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		out, err := marshal(merge(olds, previewOutputs(typ, news)))
		return &pulumirpc.UpdateResponse{Properties: out}, err
	}
	c, err := p.client()
	if err != nil {
		return nil, err
	}
	var outs resource.PropertyMap
	switch typ {
	case tContainer:
		outs, err = p.updateContainer(ctx, c, req.GetId(), olds, news)
	case tRemoteImage:
		// Only keepLocally/forceRemove update in place: they matter at delete time.
		outs = merge(olds, news)
	case tImage:
		_, outs, err = p.buildImage(ctx, c, req.GetUrn(), news)
	default:
		// Every field of the other types replaces; nothing reaches here but state-only fields.
		outs = merge(olds, news)
	}
	if err != nil {
		return nil, err
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *dockerProvider) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	typ := typeOf(req.GetUrn())
	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	c, err := p.client()
	if err != nil {
		return nil, err
	}
	var outs resource.PropertyMap
	switch typ {
	case tNetwork:
		outs, err = readNetwork(ctx, c, req.GetId(), props)
	case tVolume:
		outs, err = readVolume(ctx, c, req.GetId(), props)
	case tContainer:
		outs, err = p.readContainer(ctx, c, req.GetUrn(), req.GetId(), props)
	case tRemoteImage:
		outs, err = readRemoteImage(ctx, c, props)
	case tImage:
		outs, err = readImage(ctx, c, props)
	default:
		err = fmt.Errorf("resource type %q is not implemented by %s", typ, pluginName)
	}
	if err != nil {
		return nil, err
	}
	if outs == nil {
		// Gone: an empty ID tells the engine the resource no longer exists.
		return &pulumirpc.ReadResponse{}, nil
	}
	out, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: out, Inputs: req.GetInputs()}, nil
}

func (p *dockerProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	typ := typeOf(req.GetUrn())
	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	c, err := p.client()
	if err != nil {
		return nil, err
	}
	switch typ {
	case tNetwork:
		err = c.NetworkRemove(ctx, req.GetId())
	case tVolume:
		err = c.VolumeRemove(ctx, req.GetId(), false)
	case tContainer:
		err = deleteContainer(ctx, c, req.GetId(), props)
	case tRemoteImage:
		err = p.deleteRemoteImage(ctx, c, req.GetUrn(), props)
	case tImage:
		// As upstream: the built image stays in the host's image cache.
	default:
		err = fmt.Errorf("resource type %q is not implemented by %s", typ, pluginName)
	}
	if err != nil && !errdefs.IsNotFound(err) {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// merge returns a copy of base with over's entries on top.
func merge(base, over resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func unknown() resource.PropertyValue { return resource.MakeComputed(resource.NewStringProperty("")) }

// previewOutputs: the inputs plus the outputs only the engine can tell, as unknowns.
func previewOutputs(typ string, inputs resource.PropertyMap) resource.PropertyMap {
	out := merge(inputs, nil)
	var computed []string
	switch typ {
	case tNetwork:
		computed = []string{"scope", "ipamConfigs"}
	case tVolume:
		computed = []string{"mountpoint"}
	case tContainer:
		computed = []string{"exitCode", "bridge", "networkDatas", "containerLogs"}
	case tRemoteImage:
		computed = []string{"imageId", "repoDigest"}
	case tImage:
		computed = []string{"repoDigest", "baseImageName", "context", "dockerfile", "registryServer"}
	}
	for _, k := range computed {
		if _, ok := out[resource.PropertyKey(k)]; !ok {
			out[resource.PropertyKey(k)] = unknown()
		}
	}
	return out
}

// Small accessors over property maps (absent or unknown values give the zero value).

func getNum(m resource.PropertyMap, k string) (int64, bool) {
	if v := m[resource.PropertyKey(k)]; v.IsNumber() {
		return int64(math.Round(v.NumberValue())), true
	}
	return 0, false
}

func getStrs(m resource.PropertyMap, k string) []string {
	v := m[resource.PropertyKey(k)]
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

func getObjs(m resource.PropertyMap, k string) []resource.PropertyMap {
	v := m[resource.PropertyKey(k)]
	if !v.IsArray() {
		return nil
	}
	var out []resource.PropertyMap
	for _, e := range v.ArrayValue() {
		if e.IsObject() {
			out = append(out, e.ObjectValue())
		}
	}
	return out
}

func getObj(m resource.PropertyMap, k string) resource.PropertyMap {
	if v := m[resource.PropertyKey(k)]; v.IsObject() {
		return v.ObjectValue()
	}
	return nil
}

func getStrMap(m resource.PropertyMap, k string) map[string]string {
	v := m[resource.PropertyKey(k)]
	if !v.IsObject() {
		return nil
	}
	out := map[string]string{}
	for kk, vv := range v.ObjectValue() {
		if vv.IsString() {
			out[string(kk)] = vv.StringValue()
		}
	}
	return out
}

// labelsOf turns upstream's [{label, value}] list into Docker's map.
func labelsOf(m resource.PropertyMap) map[string]string {
	objs := getObjs(m, "labels")
	if len(objs) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, o := range objs {
		out[getStr(o, "label")] = getStr(o, "value")
	}
	return out
}

func failure(prop, format string, args ...any) *pulumirpc.CheckFailure {
	return &pulumirpc.CheckFailure{Property: prop, Reason: fmt.Sprintf(format, args...)}
}
