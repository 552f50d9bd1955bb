package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

const bucketURN = "urn:pulumi:test::proj::" + tBucket + "::warehouse"

func check(t *testing.T, p *minioProvider, news map[string]any) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	t.Helper()
	in, _ := marshal(resource.NewPropertyMapFromMap(news))
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: bucketURN, News: in, RandomSeed: []byte{9, 8, 7, 6}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := unmarshal(resp.GetInputs())
	return out, resp.GetFailures()
}

func has(fs []*pulumirpc.CheckFailure, prop string) bool {
	for _, f := range fs {
		if f.GetProperty() == prop {
			return true
		}
	}
	return false
}

func TestBucketCheck(t *testing.T) {
	p := newProvider(nil)
	out, fs := check(t, p, map[string]any{"bucket": "warehouse"})
	if len(fs) != 0 || getStr(out, "acl") != "private" || getBool(out, "forceDestroy") {
		t.Fatalf("defaults: %v %v", out, fs)
	}
	_, fs = check(t, p, map[string]any{"bucket": "w", "quota": 10.0, "objectLocking": true, "acl": "public-read"})
	for _, f := range []string{"quota", "objectLocking", "acl", "bucket"} {
		if !has(fs, f) {
			t.Errorf("%s not refused: %v", f, fs)
		}
	}
	out, fs = check(t, p, map[string]any{"bucketPrefix": "logs-"})
	if len(fs) != 0 || !strings.HasPrefix(getStr(out, "bucket"), "logs-") {
		t.Errorf("bucketPrefix naming: %v %v", out, fs)
	}
	if _, fs = check(t, p, map[string]any{"bucket": "a-b", "bucketPrefix": "x"}); !has(fs, "bucket") {
		t.Errorf("bucket+bucketPrefix not refused: %v", fs)
	}
	in, _ := marshal(resource.NewPropertyMapFromMap(map[string]any{"minioServer": "127.0.0.1:9000", "minioAccessKey": "k"}))
	resp, err := p.CheckConfig(context.Background(), &pulumirpc.CheckRequest{Urn: "urn:pulumi:test::proj::pulumi:providers:minio::p", News: in})
	if err != nil || !has(resp.GetFailures(), "minioAccessKey") || len(resp.GetFailures()) != 1 {
		t.Errorf("config: want minioAccessKey refused: %v %v", resp.GetFailures(), err)
	}
}

func TestBucketDiff(t *testing.T) {
	p := newProvider(nil)
	olds, _ := check(t, p, map[string]any{"bucket": "warehouse"})
	diff := func(news resource.PropertyMap) *pulumirpc.DiffResponse {
		o, _ := marshal(olds)
		n, _ := marshal(news)
		d, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{Urn: bucketURN, Id: "warehouse", Olds: o, OldInputs: o, News: n})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := diff(olds.Copy()); d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("no change: %v", d)
	}
	news := olds.Copy()
	news["forceDestroy"] = resource.NewBoolProperty(true)
	if d := diff(news); d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || len(d.GetReplaces()) != 0 {
		t.Errorf("forceDestroy: want an update, got %v", d)
	}
	news = olds.Copy()
	news["bucket"] = resource.NewStringProperty("lake")
	if d := diff(news); len(d.GetReplaces()) != 1 || d.GetReplaces()[0] != "bucket" {
		t.Errorf("bucket rename: want a replace, got %v", d)
	}
}

func TestOnlyLocalAddresses(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:9000", "localhost:9000", "172.18.0.2:9000", "10.1.2.3:9000"} {
		if err := allowedHost(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"8.8.8.8:443", "9000"} {
		if err := allowedHost(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// minioServer starts Lakeform's cached MinIO build on a free 127.0.0.1 port, or skips.
func minioServer(t *testing.T) (addr, user, password string) {
	t.Helper()
	cache := os.Getenv("LAKEFORM_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "lakeform")
	}
	bins, _ := filepath.Glob(filepath.Join(cache, "minio", "*", "minio"))
	if len(bins) == 0 {
		if os.Getenv("LAKEFORM_REQUIRE_MINIO_IT") == "1" {
			t.Fatal("no MinIO build in " + cache + " (bash scripts/setup.sh minio)")
		}
		t.Skip("no MinIO build in " + cache + " (bash scripts/setup.sh minio)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	user, password = "lakeform-it", "lakeform-it-secret"
	cmd := exec.Command(bins[0], "server", "--address", addr, "--console-address", "127.0.0.1:0", t.TempDir())
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+password, "MINIO_UPDATE=off", "MINIO_BROWSER=off")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	c := s3Client(t, addr, user, password)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := c.ListBuckets(context.Background()); err == nil {
			return addr, user, password
		} else if time.Now().After(deadline) {
			t.Fatalf("MinIO did not answer on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func s3Client(t *testing.T, addr, user, password string) *minio.Client {
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(user, password, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The provider's calls against a real MinIO: create, read, the non-empty delete refused without
// forceDestroy, emptied and removed with it, and a vanished bucket read as gone.
func TestBucketLifecycleOnMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a MinIO server")
	}
	addr, user, password := minioServer(t)
	ctx := context.Background()
	p := newProvider(nil)
	args, _ := structpb.NewStruct(map[string]any{"minioServer": addr, "minioUser": user, "minioPassword": password, "minioSsl": false})
	if _, err := p.Configure(ctx, &pulumirpc.ConfigureRequest{Args: args}); err != nil {
		t.Fatal(err)
	}
	in, fs := check(t, p, map[string]any{"bucket": "warehouse"})
	if len(fs) != 0 {
		t.Fatal(fs)
	}
	props, _ := marshal(in)
	created, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: bucketURN, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	outs, _ := unmarshal(created.GetProperties())
	if created.GetId() != "warehouse" || getStr(outs, "arn") != "arn:aws:s3:::warehouse" || getStr(outs, "bucketDomainName") != "http://"+addr+"/warehouse" {
		t.Fatalf("create: id %q outputs %v", created.GetId(), outs)
	}
	if _, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: bucketURN, Properties: props}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second create of the same bucket must fail: %v", err)
	}
	c := s3Client(t, addr, user, password)
	if _, err := c.PutObject(ctx, "warehouse", "t/part-0.parquet", strings.NewReader("data"), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	read, err := p.Read(ctx, &pulumirpc.ReadRequest{Urn: bucketURN, Id: "warehouse", Properties: created.GetProperties(), Inputs: props})
	if err != nil || read.GetId() != "warehouse" {
		t.Fatalf("read of an existing bucket: %v %v", read, err)
	}
	if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Urn: bucketURN, Id: "warehouse", Properties: created.GetProperties()}); err == nil || !strings.Contains(err.Error(), "forceDestroy") {
		t.Fatalf("deleting a non-empty bucket without forceDestroy must fail: %v", err)
	}
	if ok, _ := c.BucketExists(ctx, "warehouse"); !ok {
		t.Fatal("the refused delete removed the bucket")
	}
	in["forceDestroy"] = resource.NewBoolProperty(true)
	forced, _ := marshal(in)
	if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Urn: bucketURN, Id: "warehouse", Properties: forced}); err != nil {
		t.Fatalf("forceDestroy delete: %v", err)
	}
	if ok, _ := c.BucketExists(ctx, "warehouse"); ok {
		t.Fatal("forceDestroy delete left the bucket")
	}
	read, err = p.Read(ctx, &pulumirpc.ReadRequest{Urn: bucketURN, Id: "warehouse", Properties: created.GetProperties(), Inputs: props})
	if err != nil || read.GetId() != "" {
		t.Fatalf("read of a vanished bucket must report it gone: %v %v", read, err)
	}
}

// The same through the engine: a tiny Pulumi program (testdata/program) run with the pinned CLI.
func TestIntegrationProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: not with -short")
	}
	root := os.Getenv("LAKEFORM_ROOT")
	if root == "" {
		root, _ = filepath.Abs("../..")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@pulumi", "minio")); err != nil {
		t.Skip("no node_modules/@pulumi/minio in " + root + " (npm ci)")
	}
	if _, err := exec.LookPath("pulumi"); err != nil {
		t.Skip("no pulumi CLI on PATH (source scripts/env.sh)")
	}
	addr, user, password := minioServer(t)
	tmp := t.TempDir()
	bin, prog := filepath.Join(tmp, "bin"), filepath.Join(tmp, "program")
	for _, d := range []string{bin, prog, filepath.Join(tmp, "state"), filepath.Join(tmp, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := exec.Command("go", "build", "-o", filepath.Join(bin, "pulumi-resource-minio"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	for _, f := range []string{"Pulumi.yaml", "index.ts"} {
		b, err := os.ReadFile(filepath.Join("testdata", "program", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(prog, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "node_modules"), filepath.Join(prog, "node_modules")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PULUMI_BACKEND_URL=file://"+filepath.Join(tmp, "state"),
		"PULUMI_HOME="+filepath.Join(tmp, "home"),
		"PULUMI_CONFIG_PASSPHRASE=integration-test",
		"PULUMI_SKIP_UPDATE_CHECK=true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
	)
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "pulumi", append(args, "--non-interactive", "--color", "never")...)
		cmd.Dir, cmd.Env = prog, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	must("stack", "init", "it")
	t.Cleanup(func() { _, _ = run("destroy", "--yes") })
	must("config", "set", "server", addr)
	must("config", "set", "user", user)
	must("config", "set", "--secret", "password", password)
	must("config", "set", "bucket", "warehouse")

	ctx := context.Background()
	c := s3Client(t, addr, user, password)
	must("up", "--yes")
	if ok, err := c.BucketExists(ctx, "warehouse"); !ok || err != nil {
		t.Fatalf("up did not create the bucket: %v", err)
	}
	if out := must("stack", "output", "domain"); strings.TrimSpace(out) != fmt.Sprintf("http://%s/warehouse", addr) {
		t.Fatalf("bucketDomainName: %q", out)
	}
	must("preview", "--expect-no-changes")
	// The bucket vanishes: refresh notices, up creates it again.
	if err := c.RemoveBucket(ctx, "warehouse"); err != nil {
		t.Fatal(err)
	}
	if out := must("refresh", "--yes"); !strings.Contains(out, "deleted") {
		t.Fatalf("refresh did not show the bucket gone:\n%s", out)
	}
	must("up", "--yes")
	if ok, _ := c.BucketExists(ctx, "warehouse"); !ok {
		t.Fatal("up did not restore the bucket")
	}
	if _, err := c.PutObject(ctx, "warehouse", "k", strings.NewReader("v"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	must("destroy", "--yes") // forceDestroy: true empties it
	if ok, _ := c.BucketExists(ctx, "warehouse"); ok {
		t.Fatal("destroy left the bucket")
	}
}

// With the S3 server down (its container died), Read keeps the bucket's last state instead of
// calling it gone or failing the whole refresh.
func TestReadKeepsStateWhenServerIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx := context.Background()
	p := newProvider(nil)
	args, _ := structpb.NewStruct(map[string]any{"minioServer": addr, "minioUser": "u", "minioPassword": "p"})
	if _, err := p.Configure(ctx, &pulumirpc.ConfigureRequest{Args: args}); err != nil {
		t.Fatal(err)
	}
	in, _ := check(t, p, map[string]any{"bucket": "warehouse"})
	props, _ := marshal(in)
	read, err := p.Read(ctx, &pulumirpc.ReadRequest{Urn: bucketURN, Id: "warehouse", Properties: props, Inputs: props})
	if err != nil || read.GetId() != "warehouse" {
		t.Fatalf("want the bucket kept, got %v %v", read, err)
	}
}
