package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	providerkit "lakeform.local/pulumi-provider-kit"
)

const pluginName = "pulumi-resource-minio"

// The engine's marker for a value not known yet (preview).
const unknownSentinel = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

type minioConfig struct {
	server, user, password, region string
	ssl                            bool
	unknown                        []string // config keys whose values weren't known at Configure
}

type minioProvider struct {
	providerkit.Base
	host *provider.HostClient

	mu     sync.Mutex
	cfg    minioConfig
	client *minio.Client
}

func newProvider(host *provider.HostClient) *minioProvider {
	return &minioProvider{Base: providerkit.Base{Package: "minio", Plugin: pluginName, Version: version, ConfigSpec: configSpec}, host: host}
}

func (p *minioProvider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	changed, _ := diffFields(olds, news, configSpec)
	return diffResponse(changed, nil, false), nil
}

// Configure takes the config from the provider resource's args (explicit provider) or the stack's
// minio:* config (default provider). Values not known yet are only an error when used.
func (p *minioProvider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	vals := map[string]string{}
	for k, v := range req.GetVariables() {
		vals[strings.TrimPrefix(k, "minio:config:")] = v
	}
	for k, v := range req.GetArgs().GetFields() {
		switch x := v.GetKind().(type) {
		case *structpb.Value_StringValue:
			vals[k] = x.StringValue
		case *structpb.Value_BoolValue:
			vals[k] = strconv.FormatBool(x.BoolValue)
		case *structpb.Value_NumberValue:
			vals[k] = strconv.FormatFloat(x.NumberValue, 'f', -1, 64)
		}
	}
	cfg := minioConfig{region: "us-east-1"}
	for k, v := range vals {
		if v == unknownSentinel {
			cfg.unknown = append(cfg.unknown, k)
			continue
		}
		switch k {
		case "minioServer":
			cfg.server = v
		case "minioUser":
			cfg.user = v
		case "minioPassword":
			cfg.password = v
		case "minioRegion":
			if v != "" {
				cfg.region = v
			}
		case "minioSsl":
			cfg.ssl = v == "true"
		}
	}
	p.mu.Lock()
	p.cfg, p.client = cfg, nil
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{SupportsPreview: true}, nil
}

// allowedHost: Lakeform's stand-in talks only to this machine or to private addresses (our own
// containers on Docker networks), never to a host elsewhere.
func allowedHost(server string) error {
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		return fmt.Errorf("minioServer %q must be host:port: %v", server, err)
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return fmt.Errorf("minioServer %q: %v", server, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() && !ip.IsPrivate() {
			return fmt.Errorf("minioServer %q resolves to %s: Lakeform's stand-in %s only talks to 127.0.0.1 and private addresses (our own containers)", server, ip, pluginName)
		}
	}
	return nil
}

func (p *minioProvider) s3() (*minio.Client, minioConfig, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.cfg
	if p.client != nil {
		return p.client, cfg, nil
	}
	if len(cfg.unknown) > 0 {
		return nil, cfg, fmt.Errorf("minio provider config %v not known yet", cfg.unknown)
	}
	if cfg.server == "" {
		return nil, cfg, fmt.Errorf("minio provider config: minioServer is not set")
	}
	if err := allowedHost(cfg.server); err != nil {
		return nil, cfg, err
	}
	c, err := minio.New(cfg.server, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.user, cfg.password, ""),
		Secure: cfg.ssl,
		Region: cfg.region,
	})
	if err != nil {
		return nil, cfg, fmt.Errorf("minio client for %s: %w", cfg.server, err)
	}
	p.client = c
	return c, cfg, nil
}

func randomSuffix(seed []byte) string {
	b := make([]byte, 4)
	if len(seed) >= 4 {
		copy(b, seed)
	} else {
		_, _ = rand.Read(b)
	}
	return hex.EncodeToString(b)[:7]
}

func (p *minioProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	typ := typeOf(req.GetUrn())
	if typ != tBucket {
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
	failures := checkFields(pluginName, typ, "", news, bucketSpec)
	if acl := news["acl"]; acl.IsString() && acl.StringValue() != "private" {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "acl", Reason: fmt.Sprintf("%s: acl %q is not implemented by Lakeform's stand-in %s (only private)", typ, acl.StringValue(), pluginName)})
	}
	_, hasBucket := news["bucket"]
	_, hasPrefix := news["bucketPrefix"]
	switch {
	case hasBucket && hasPrefix:
		failures = append(failures, &pulumirpc.CheckFailure{Property: "bucket", Reason: typ + ": bucket and bucketPrefix conflict: set one"})
	case !hasBucket:
		// A generated name, kept across updates (upstream makes a unique one at create).
		if old := getStr(olds, "bucket"); old != "" {
			news["bucket"] = resource.NewStringProperty(old)
		} else if !news["bucketPrefix"].ContainsUnknowns() {
			prefix := getStr(news, "bucketPrefix")
			if prefix == "" {
				prefix = strings.ToLower(resource.URN(req.GetUrn()).Name()) + "-"
			}
			news["bucket"] = resource.NewStringProperty(prefix + randomSuffix(req.GetRandomSeed()))
		}
	}
	if b := news["bucket"]; b.IsString() {
		if err := s3utils.CheckValidBucketName(b.StringValue()); err != nil {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "bucket", Reason: fmt.Sprintf("%s: bucket %q: %v", typ, b.StringValue(), err)})
		}
	}
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

func (p *minioProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	changed, replaces := diffFields(olds, news, bucketSpec)
	// bucketPrefix only named the bucket: with the generated name kept, it changes nothing.
	return diffResponse(changed, replaces, false), nil
}

func bucketOutputs(in resource.PropertyMap, endpoint string) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range in {
		out[k] = v
	}
	bucket := getStr(in, "bucket")
	out["arn"] = resource.NewStringProperty("arn:aws:s3:::" + bucket)
	out["bucketDomainName"] = resource.NewStringProperty(endpoint + "/" + bucket)
	return out
}

func (p *minioProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	in, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		out := bucketOutputs(in, "")
		out["bucketDomainName"] = resource.MakeComputed(resource.NewStringProperty(""))
		props, err := marshal(out)
		return &pulumirpc.CreateResponse{Properties: props}, err
	}
	c, cfg, err := p.s3()
	if err != nil {
		return nil, err
	}
	bucket := getStr(in, "bucket")
	exists, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("checking bucket %q on %s: %w", bucket, cfg.server, err)
	}
	if exists {
		return nil, fmt.Errorf("bucket %q already exists on %s (import it, or pick another name)", bucket, cfg.server)
	}
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: cfg.region}); err != nil {
		return nil, fmt.Errorf("creating bucket %q on %s: %w", bucket, cfg.server, err)
	}
	props, err := marshal(bucketOutputs(in, c.EndpointURL().String()))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: bucket, Properties: props}, nil
}

// Update: acl is always private here, forceDestroy only matters at delete: nothing to apply.
func (p *minioProvider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	endpoint := getStr(olds, "bucketDomainName")
	endpoint = strings.TrimSuffix(endpoint, "/"+getStr(olds, "bucket"))
	props, err := marshal(bucketOutputs(news, endpoint))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Read: a bucket that no longer exists is reported gone (refresh drops it, up creates it again).
func (p *minioProvider) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	c, cfg, err := p.s3()
	if err != nil {
		return nil, err
	}
	exists, err := c.BucketExists(ctx, req.GetId())
	var netErr *net.OpError
	if errors.As(err, &netErr) {
		// The S3 server itself is down (its container died, and is being refreshed away too):
		// nothing can be observed, so the bucket keeps its last known state rather than being
		// called gone (it lives in the server's volume, and `up` brings the server back).
		if p.host != nil {
			_ = p.host.Log(ctx, diag.Warning, resource.URN(req.GetUrn()), fmt.Sprintf("bucket %q: %s does not answer (%v); keeping its last known state", req.GetId(), cfg.server, err))
		}
		return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checking bucket %q on %s: %w", req.GetId(), cfg.server, err)
	}
	if !exists {
		return &pulumirpc.ReadResponse{}, nil
	}
	if getStr(props, "bucket") == "" {
		props["bucket"] = resource.NewStringProperty(req.GetId())
	}
	out, err := marshal(bucketOutputs(props, c.EndpointURL().String()))
	if err != nil {
		return nil, err
	}
	inputs := req.GetInputs()
	if inputs == nil {
		inputs, _ = marshal(resource.PropertyMap{"bucket": resource.NewStringProperty(req.GetId())})
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: out, Inputs: inputs}, nil
}

// Delete: as upstream, a bucket with objects is only emptied and removed with forceDestroy.
func (p *minioProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	c, cfg, err := p.s3()
	if err != nil {
		return nil, err
	}
	bucket := req.GetId()
	exists, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("checking bucket %q on %s: %w", bucket, cfg.server, err)
	}
	if !exists {
		return &emptypb.Empty{}, nil
	}
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := c.ListObjects(listCtx, bucket, minio.ListObjectsOptions{Recursive: true})
	first, ok := <-objects
	if ok {
		if first.Err != nil {
			return nil, fmt.Errorf("listing bucket %q: %w", bucket, first.Err)
		}
		if !getBool(props, "forceDestroy") {
			return nil, fmt.Errorf("bucket %q is not empty: set forceDestroy: true to delete its objects with it, or empty it first", bucket)
		}
		toRemove := make(chan minio.ObjectInfo)
		var listErr error
		go func() {
			defer close(toRemove)
			toRemove <- first
			for o := range objects {
				if o.Err != nil {
					listErr = o.Err
					return
				}
				toRemove <- o
			}
		}()
		for e := range c.RemoveObjects(ctx, bucket, toRemove, minio.RemoveObjectsOptions{}) {
			cancel()
			for range toRemove {
			}
			return nil, fmt.Errorf("deleting %s from bucket %q: %w", e.ObjectName, bucket, e.Err)
		}
		if listErr != nil {
			return nil, fmt.Errorf("listing bucket %q: %w", bucket, listErr)
		}
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil {
		return nil, fmt.Errorf("removing bucket %q: %w", bucket, err)
	}
	return &emptypb.Empty{}, nil
}
