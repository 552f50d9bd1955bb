package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func urnOf(typ, name string) string {
	return "urn:pulumi:test::proj::" + typ + "::" + name
}

func props(t *testing.T, m map[string]any) resource.PropertyMap {
	t.Helper()
	return resource.NewPropertyMapFromMap(m)
}

func check(t *testing.T, typ string, news map[string]any) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	t.Helper()
	return checkProps(t, typ, props(t, news))
}

func checkProps(t *testing.T, typ string, news resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	t.Helper()
	in, err := marshal(news)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newProvider(nil).Check(context.Background(), &pulumirpc.CheckRequest{Urn: urnOf(typ, "x"), News: in, RandomSeed: []byte{1, 2, 3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := unmarshal(resp.GetInputs())
	if err != nil {
		t.Fatal(err)
	}
	return out, resp.GetFailures()
}

func diff(t *testing.T, typ string, olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	t.Helper()
	o, err := marshal(olds)
	if err != nil {
		t.Fatal(err)
	}
	n, err := marshal(news)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newProvider(nil).Diff(context.Background(), &pulumirpc.DiffRequest{Urn: urnOf(typ, "x"), Id: "id", Olds: o, OldInputs: o, News: n})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func failureAbout(fs []*pulumirpc.CheckFailure, prop string) *pulumirpc.CheckFailure {
	for _, f := range fs {
		if f.GetProperty() == prop {
			return f
		}
	}
	return nil
}

func baseContainer() map[string]any {
	return map[string]any{
		"image": "sha256:abc",
		"name":  "lf-app",
		"ports": []any{map[string]any{"internal": 8080.0, "external": 18080.0}},
		"healthcheck": map[string]any{
			"tests": []any{"CMD-SHELL", "true"}, "interval": "10s",
		},
		"wait":    true,
		"restart": "unless-stopped",
	}
}

func TestCheckRefusesUnimplementedFields(t *testing.T) {
	c := baseContainer()
	c["privileged"] = true
	c["ports"] = []any{map[string]any{"internal": 80.0, "hostIp": "1.2.3.4"}}
	_, fs := check(t, tContainer, c)
	f := failureAbout(fs, "privileged")
	if f == nil || !strings.Contains(f.GetReason(), `"privileged" is not implemented`) {
		t.Fatalf("privileged not refused with a clear message: %v", fs)
	}
	if f := failureAbout(fs, "ports[0].hostIp"); f == nil || !strings.Contains(f.GetReason(), "ports[0].hostIp") {
		t.Fatalf("nested ports[0].hostIp not refused: %v", fs)
	}
	if len(fs) != 2 {
		t.Fatalf("want exactly the 2 refusals, got %v", fs)
	}
	_, fs = check(t, tNetwork, map[string]any{"name": "n", "ipv6": true})
	if failureAbout(fs, "ipv6") == nil {
		t.Fatalf("network ipv6 not refused: %v", fs)
	}
	_, fs = check(t, tImage, map[string]any{"imageName": "x", "skipPush": true, "registry": map[string]any{"server": "r"}, "build": map[string]any{"context": t.TempDir(), "cacheFrom": map[string]any{}}})
	if failureAbout(fs, "registry") == nil || failureAbout(fs, "build.cacheFrom") == nil {
		t.Fatalf("image registry/build.cacheFrom not refused: %v", fs)
	}
}

func TestCheckFillsUpstreamDefaults(t *testing.T) {
	c := baseContainer()
	delete(c, "name")
	delete(c, "restart")
	out, fs := check(t, tContainer, c)
	if len(fs) != 0 {
		t.Fatalf("unexpected failures: %v", fs)
	}
	want := map[string]any{"restart": "no", "networkMode": "bridge", "mustRun": true, "start": true, "waitTimeout": 60.0, "removeVolumes": true}
	for k, v := range want {
		if got := out[resource.PropertyKey(k)].Mappable(); got != v {
			t.Errorf("%s: want default %v, got %v", k, v, got)
		}
	}
	port := getObjs(out, "ports")[0]
	if getStr(port, "ip") != "0.0.0.0" || getStr(port, "protocol") != "tcp" {
		t.Errorf("port defaults: %v", port)
	}
	if hc := getObj(out, "healthcheck"); getStr(hc, "timeout") != "0s" || getStr(hc, "interval") != "10s" {
		t.Errorf("healthcheck defaults: %v", hc)
	}
	if name := getStr(out, "name"); !strings.HasPrefix(name, "x-") || len(name) != len("x-")+7 {
		t.Errorf("auto-name: %q", name)
	}
	// The same seed gives the same name: a second Check must not rename the container.
	again, _ := check(t, tContainer, c)
	if getStr(again, "name") != getStr(out, "name") {
		t.Errorf("auto-name not stable: %q vs %q", getStr(again, "name"), getStr(out, "name"))
	}
}

func TestCheckValidatesValues(t *testing.T) {
	c := baseContainer()
	c["restart"] = "sometimes"
	c["attach"] = true
	c["uploads"] = []any{map[string]any{"file": "/a"}, map[string]any{"file": "/b", "content": "x", "source": "/etc/hostname"}}
	c["healthcheck"] = map[string]any{"tests": []any{"CMD", "true"}, "interval": "ten seconds"}
	_, fs := check(t, tContainer, c)
	for _, p := range []string{"restart", "attach", "uploads[0]", "uploads[1]", "healthcheck.interval"} {
		if failureAbout(fs, p) == nil {
			t.Errorf("%s not refused: %v", p, fs)
		}
	}
	c = baseContainer()
	delete(c, "healthcheck")
	if _, fs := check(t, tContainer, c); failureAbout(fs, "wait") == nil {
		t.Errorf("wait without healthcheck not refused: %v", fs)
	}
	if _, fs := check(t, tContainer, map[string]any{"name": "no-image"}); failureAbout(fs, "image") == nil {
		t.Errorf("missing image not refused: %v", fs)
	}
	if _, fs := check(t, tImage, map[string]any{"imageName": "x", "build": map[string]any{"context": t.TempDir()}}); failureAbout(fs, "skipPush") == nil {
		t.Errorf("Image without skipPush (a push) not refused: %v", fs)
	}
}

func TestCheckUnknownType(t *testing.T) {
	in, _ := marshal(resource.PropertyMap{})
	_, err := newProvider(nil).Check(context.Background(), &pulumirpc.CheckRequest{Urn: urnOf("docker:index/service:Service", "s"), News: in})
	if err == nil || !strings.Contains(err.Error(), "docker:index/service:Service") {
		t.Fatalf("want a refusal naming the type, got %v", err)
	}
}

func TestContainerDiffReplaceVersusUpdate(t *testing.T) {
	olds, fs := check(t, tContainer, baseContainer())
	if len(fs) != 0 {
		t.Fatal(fs)
	}
	same := diff(t, tContainer, olds, olds.Copy())
	if same.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("identical inputs: want no changes, got %v", same)
	}
	cases := []struct {
		field   string
		value   any
		replace bool
	}{
		{"image", "sha256:def", true},
		{"envs", []any{"A=1"}, true},
		{"command", []any{"run"}, true},
		{"ports", []any{map[string]any{"internal": 8080.0, "external": 18081.0, "ip": "0.0.0.0", "protocol": "tcp"}}, true},
		{"uploads", []any{map[string]any{"file": "/f", "content": "new", "executable": false}}, true},
		{"healthcheck", map[string]any{"tests": []any{"CMD", "false"}}, true},
		{"networksAdvanced", []any{map[string]any{"name": "other"}}, true},
		{"restart", "always", false},
		{"memory", 512.0, false},
		{"wait", false, false},
		{"waitTimeout", 300.0, false},
		{"destroyGraceSeconds", 30.0, false},
	}
	for _, c := range cases {
		news := olds.Copy()
		news[resource.PropertyKey(c.field)] = resource.NewPropertyValue(c.value)
		d := diff(t, tContainer, olds, news)
		if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || len(d.GetDiffs()) != 1 || d.GetDiffs()[0] != c.field {
			t.Errorf("%s: want a change of exactly that field, got %v", c.field, d)
			continue
		}
		if got := len(d.GetReplaces()) > 0; got != c.replace {
			t.Errorf("%s: replace = %v, want %v", c.field, got, c.replace)
		}
		if c.replace && !d.GetDeleteBeforeReplace() {
			t.Errorf("%s: a container replacement must delete first (its name is unique)", c.field)
		}
	}
	// A value not known yet (preview) counts as a change.
	news := olds.Copy()
	news["envs"] = resource.MakeComputed(resource.NewStringProperty(""))
	if d := diff(t, tContainer, olds, news); len(d.GetReplaces()) != 1 || d.GetReplaces()[0] != "envs" {
		t.Errorf("unknown envs: want a replace, got %v", d)
	}
}

func TestNetworkAndVolumeReplaceOnEveryChange(t *testing.T) {
	olds, _ := check(t, tNetwork, map[string]any{"name": "lf-net"})
	news := olds.Copy()
	news["name"] = resource.NewStringProperty("lf-net2")
	if d := diff(t, tNetwork, olds, news); len(d.GetReplaces()) != 1 || !d.GetDeleteBeforeReplace() {
		t.Errorf("network rename: %v", d)
	}
	olds, _ = check(t, tVolume, map[string]any{"name": "v"})
	if getStr(olds, "driver") != "local" {
		t.Errorf("volume driver default: %v", olds)
	}
	news = olds.Copy()
	news["driverOpts"] = resource.NewPropertyValue(map[string]any{"type": "tmpfs"})
	if d := diff(t, tVolume, olds, news); len(d.GetReplaces()) != 1 {
		t.Errorf("volume driverOpts: %v", d)
	}
}

func TestImageContextDigestDrivesRebuild(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM scratch\nCOPY a /a\n")
	write("a", "one")
	write(".dockerignore", "notes.txt\n")
	write("notes.txt", "first")
	in := map[string]any{"imageName": "lf/x:1", "skipPush": true, "build": map[string]any{"context": dir, "args": map[string]any{"BASE": "debian"}}}
	first, fs := check(t, tImage, in)
	if len(fs) != 0 {
		t.Fatal(fs)
	}
	b := getObj(first, "build")
	if getStr(b, "dockerfile") != filepath.Join(dir, "Dockerfile") || getStr(b, "contextDigest") == "" {
		t.Fatalf("build defaults/digest: %v", b)
	}
	write("notes.txt", "second") // ignored by .dockerignore
	second, _ := check(t, tImage, in)
	if d := diff(t, tImage, first, second); d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("a change to an ignored file must not rebuild: %v", d)
	}
	write("a", "two")
	third, _ := check(t, tImage, in)
	d := diff(t, tImage, first, third)
	if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || len(d.GetReplaces()) != 0 {
		t.Fatalf("a changed context file must be an update (rebuild in place), got %v", d)
	}
	in["build"] = map[string]any{"context": dir, "dockerfile": filepath.Join(dir, "Missing")}
	if _, fs := check(t, tImage, in); failureAbout(fs, "build.dockerfile") == nil {
		t.Fatalf("missing Dockerfile not refused: %v", fs)
	}
}

func TestRemoteImageDiff(t *testing.T) {
	olds, fs := check(t, tRemoteImage, map[string]any{"name": "debian:bookworm-slim", "keepLocally": true})
	if len(fs) != 0 {
		t.Fatal(fs)
	}
	news := olds.Copy()
	news["keepLocally"] = resource.NewBoolProperty(false)
	if d := diff(t, tRemoteImage, olds, news); d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || len(d.GetReplaces()) != 0 {
		t.Errorf("keepLocally: want an update, got %v", d)
	}
	news = olds.Copy()
	news["name"] = resource.NewStringProperty("debian:trixie-slim")
	if d := diff(t, tRemoteImage, olds, news); len(d.GetReplaces()) != 1 {
		t.Errorf("name: want a replace, got %v", d)
	}
	if _, fs := check(t, tRemoteImage, map[string]any{"name": "x", "pullTriggers": []any{"a"}}); failureAbout(fs, "pullTriggers") == nil {
		t.Errorf("pullTriggers not refused: %v", fs)
	}
}

func TestConfigRefusesUnimplementedKeys(t *testing.T) {
	in, _ := marshal(props(t, map[string]any{"host": "unix:///var/run/docker.sock", "registryAuth": []any{}}))
	resp, err := newProvider(nil).CheckConfig(context.Background(), &pulumirpc.CheckRequest{Urn: urnOf("pulumi:providers:docker", "p"), News: in})
	if err != nil {
		t.Fatal(err)
	}
	if failureAbout(resp.GetFailures(), "registryAuth") == nil || len(resp.GetFailures()) != 1 {
		t.Fatalf("want registryAuth refused and host accepted: %v", resp.GetFailures())
	}
}
