package main

// The integration test: a tiny Pulumi program (testdata/program, TypeScript on @pulumi/docker)
// run with the pinned CLI against a real Docker Engine, through this plugin built from source.
// It runs when a Docker Engine answers, the CLI is on PATH (source scripts/env.sh) and the
// project's node_modules and the debian:bookworm-slim base image are there; otherwise it skips,
// saying why. LAKEFORM_REQUIRE_DOCKER_IT=1 turns those skips into failures (CI).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("LAKEFORM_REQUIRE_DOCKER_IT") == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type pulumiRun struct {
	t   *testing.T
	dir string
	env []string
}

func (p pulumiRun) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "pulumi", append(args, "--non-interactive", "--color", "never")...)
	cmd.Dir, cmd.Env = p.dir, p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p pulumiRun) must(timeout time.Duration, args ...string) string {
	p.t.Helper()
	out, err := p.run(timeout, args...)
	if err != nil {
		p.t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func get(t *testing.T, port int) string {
	t.Helper()
	r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("GET the container's published port: %v", err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return strings.TrimSpace(string(b))
}

func TestIntegrationProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: not with -short")
	}
	root := os.Getenv("LAKEFORM_ROOT")
	if root == "" {
		root, _ = filepath.Abs("../..")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@pulumi", "docker")); err != nil {
		skipOrFail(t, "no node_modules/@pulumi/docker in "+root+" (npm ci)")
	}
	if _, err := exec.LookPath("pulumi"); err != nil {
		skipOrFail(t, "no pulumi CLI on PATH (source scripts/env.sh)")
	}
	ctx := context.Background()
	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		skipOrFail(t, "no Docker client: "+err.Error())
	}
	if _, err := dc.Ping(ctx); err != nil {
		skipOrFail(t, "no Docker Engine answers (scripts/docker-engine.sh starts one): "+err.Error())
	}
	if _, err := dc.ImageInspect(ctx, "debian:bookworm-slim"); err != nil {
		skipOrFail(t, "no debian:bookworm-slim base image (scripts/docker-engine.sh makes it)")
	}

	tmp := t.TempDir()
	bin, prog, ctxDir := filepath.Join(tmp, "bin"), filepath.Join(tmp, "program"), filepath.Join(tmp, "image")
	for _, d := range []string{bin, prog, ctxDir, filepath.Join(tmp, "state"), filepath.Join(tmp, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// This plugin, from this source, first on PATH; the test image's server, static.
	build := func(out string, env []string, pkg string) {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	build(filepath.Join(bin, "pulumi-resource-docker"), nil, ".")
	build(filepath.Join(ctxDir, "server"), []string{"CGO_ENABLED=0"}, "./testdata/server")
	copyFile(t, "testdata/image/Dockerfile", filepath.Join(ctxDir, "Dockerfile"))
	copyFile(t, "testdata/image/.dockerignore", filepath.Join(ctxDir, ".dockerignore"))
	copyFile(t, "testdata/program/Pulumi.yaml", filepath.Join(prog, "Pulumi.yaml"))
	copyFile(t, "testdata/program/index.ts", filepath.Join(prog, "index.ts"))
	if err := os.Symlink(filepath.Join(root, "node_modules"), filepath.Join(prog, "node_modules")); err != nil {
		t.Fatal(err)
	}

	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	prefix := "lfit-" + hex.EncodeToString(suffix)
	port := freePort(t)
	p := pulumiRun{t: t, dir: prog, env: append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PULUMI_BACKEND_URL=file://"+filepath.Join(tmp, "state"),
		"PULUMI_HOME="+filepath.Join(tmp, "home"),
		"PULUMI_CONFIG_PASSPHRASE=integration-test",
		"PULUMI_SKIP_UPDATE_CHECK=true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
	)}
	// Whatever happens, leave nothing behind.
	t.Cleanup(func() {
		if out, err := p.run(5*time.Minute, "destroy", "--yes", "--stack", "it"); err != nil {
			t.Logf("cleanup destroy: %v\n%s", err, out)
		}
		_ = dc.ContainerRemove(ctx, prefix+"-app", container.RemoveOptions{Force: true})
		_ = dc.NetworkRemove(ctx, prefix+"-net")
		_ = dc.VolumeRemove(ctx, prefix+"-data", true)
		_, _ = dc.ImageRemove(ctx, prefix+"-image:latest", image.RemoveOptions{Force: true, PruneChildren: true})
	})

	p.must(time.Minute, "stack", "init", "it")
	p.must(time.Minute, "config", "set", "prefix", prefix)
	p.must(time.Minute, "config", "set", "port", fmt.Sprint(port))
	p.must(time.Minute, "config", "set", "imageContext", ctxDir)

	// 1. up: everything is created, the container is healthy and answers on 127.0.0.1.
	out := p.must(10*time.Minute, "up", "--yes")
	if !strings.Contains(out, "using pulumi-resource-docker from $PATH") && !strings.Contains(out, "created") {
		t.Logf("up output:\n%s", out)
	}
	insp, err := dc.ContainerInspect(ctx, prefix+"-app")
	if err != nil {
		t.Fatalf("container not there after up: %v\n%s", err, out)
	}
	if !insp.State.Running || insp.State.Health == nil || insp.State.Health.Status != "healthy" {
		t.Fatalf("container not running and healthy: %+v", insp.State)
	}
	if _, ok := insp.NetworkSettings.Networks[prefix+"-net"]; !ok || len(insp.NetworkSettings.Networks) != 1 {
		t.Fatalf("container networks: want only %s-net, got %v", prefix, insp.NetworkSettings.Networks)
	}
	if b := insp.HostConfig.PortBindings["8080/tcp"]; len(b) != 1 || b[0].HostIP != "127.0.0.1" {
		t.Fatalf("port binding: want 127.0.0.1, got %v", b)
	}
	if got := get(t, port); got != "count=1 greeting=hello motd=uploaded one" {
		t.Fatalf("first answer: %q", got)
	}
	firstID := insp.ID

	// 2. A no-op up changes nothing (a file .dockerignore excludes doesn't count).
	if err := os.WriteFile(filepath.Join(ctxDir, "ignored.txt"), []byte("noise"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.must(5*time.Minute, "preview", "--expect-no-changes")
	p.must(5*time.Minute, "up", "--yes", "--expect-no-changes")
	if insp, _ := dc.ContainerInspect(ctx, prefix+"-app"); insp.ID != firstID {
		t.Fatalf("a no-op up replaced the container")
	}

	// 3. A changed build arg rebuilds the image (update) and so replaces the container; the
	// named volume keeps the count.
	p.must(time.Minute, "config", "set", "mark", "two")
	out = p.must(10*time.Minute, "up", "--yes")
	insp, err = dc.ContainerInspect(ctx, prefix+"-app")
	if err != nil || insp.ID == firstID {
		t.Fatalf("container not replaced after the image changed: %v\n%s", err, out)
	}
	if got := get(t, port); got != "count=2 greeting=hello motd=uploaded two" {
		t.Fatalf("answer after replace: %q", got)
	}

	// 4. Kill the container: refresh notices, up restores it with its data.
	if err := dc.ContainerKill(ctx, prefix+"-app", "KILL"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	out = p.must(5*time.Minute, "refresh", "--yes")
	if !strings.Contains(out, "deleted") {
		t.Fatalf("refresh did not show the dead container as gone:\n%s", out)
	}
	if _, err := p.run(5*time.Minute, "preview", "--expect-no-changes"); err == nil {
		t.Fatalf("after refresh, preview should want to create the container again")
	}
	p.must(10*time.Minute, "up", "--yes")
	insp, err = dc.ContainerInspect(ctx, prefix+"-app")
	if err != nil || !insp.State.Running {
		t.Fatalf("up did not restore the container: %v", err)
	}
	if got := get(t, port); got != "count=3 greeting=hello motd=uploaded two" {
		t.Fatalf("answer after restore: %q", got)
	}

	// 5. Remove it outright: the same.
	if err := dc.ContainerRemove(ctx, prefix+"-app", container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	p.must(5*time.Minute, "refresh", "--yes")
	p.must(10*time.Minute, "up", "--yes")
	if got := get(t, port); got != "count=4 greeting=hello motd=uploaded two" {
		t.Fatalf("answer after the container vanished and up: %q", got)
	}

	// 6. destroy leaves no container, network or volume.
	p.must(10*time.Minute, "destroy", "--yes")
	cs, _ := dc.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", prefix))})
	ns, _ := dc.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", prefix))})
	vs, _ := dc.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("name", prefix))})
	if len(cs)+len(ns)+len(vs.Volumes) != 0 {
		t.Fatalf("destroy left %d containers, %d networks, %d volumes", len(cs), len(ns), len(vs.Volumes))
	}
	// keepLocally: the base image stays.
	if _, err := dc.ImageInspect(ctx, "debian:bookworm-slim"); err != nil {
		t.Fatalf("destroy removed the keepLocally base image: %v", err)
	}
}
