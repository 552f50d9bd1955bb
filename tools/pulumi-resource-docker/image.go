package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/moby/go-archive"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// buildRequest is one image build, whichever resource asked for it.
type buildRequest struct {
	context    string // the context directory
	dockerfile string // the Dockerfile's path relative to the context
	tag        string
	args       map[string]*string
	target     string
	labels     map[string]string
	noCache    bool
	network    string
	extraHosts []string
}

// checkImage fills the native Image's build defaults as upstream does (context ".", dockerfile
// "<context>/Dockerfile", both relative to the program's directory) and adds build.contextDigest,
// a hash of the context's files, so a changed file shows up as a diff and rebuilds.
func checkImage(in resource.PropertyMap) []*pulumirpc.CheckFailure {
	var failures []*pulumirpc.CheckFailure
	if v := in["skipPush"]; v.IsBool() && !v.BoolValue() {
		failures = append(failures, failure("skipPush", "%s: pushing to a registry is not implemented by Lakeform's stand-in %s: set skipPush: true", tImage, pluginName))
	}
	b := getObj(in, "build")
	if b == nil {
		if v := in["build"]; v.ContainsUnknowns() {
			return failures
		}
		b = resource.PropertyMap{}
		in["build"] = resource.NewObjectProperty(b)
	}
	if b["context"].ContainsUnknowns() || b["dockerfile"].ContainsUnknowns() {
		return failures
	}
	if _, ok := b["context"]; !ok {
		b["context"] = resource.NewStringProperty(".")
	}
	if _, ok := b["dockerfile"]; !ok {
		b["dockerfile"] = resource.NewStringProperty(filepath.Join(getStr(b, "context"), "Dockerfile"))
	}
	ctxDir, dockerfile := getStr(b, "context"), getStr(b, "dockerfile")
	rel, err := dockerfileInContext(ctxDir, dockerfile)
	if err != nil {
		return append(failures, failure("build.dockerfile", "%s: %v", tImage, err))
	}
	digest, err := hashContext(ctxDir, rel)
	if err != nil {
		return append(failures, failure("build.context", "%s: hashing the build context %q: %v", tImage, ctxDir, err))
	}
	b["contextDigest"] = resource.NewStringProperty(digest)
	return failures
}

func checkRemoteImage(in resource.PropertyMap) []*pulumirpc.CheckFailure {
	b := getObj(in, "build")
	if b == nil || b["context"].ContainsUnknowns() || b["dockerfile"].ContainsUnknowns() {
		return nil
	}
	ctxDir := getStr(b, "context")
	if _, err := dockerfileInContext(ctxDir, filepath.Join(ctxDir, getStr(b, "dockerfile"))); err != nil {
		return []*pulumirpc.CheckFailure{failure("build.dockerfile", "%s: %v", tRemoteImage, err)}
	}
	return nil
}

// dockerfileInContext checks the Dockerfile exists inside the context and returns its path
// relative to the context (a Dockerfile outside the context is not implemented).
func dockerfileInContext(ctxDir, dockerfile string) (string, error) {
	if st, err := os.Stat(ctxDir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("build context %q is not a directory", ctxDir)
	}
	if _, err := os.Stat(dockerfile); err != nil {
		return "", fmt.Errorf("could not open the Dockerfile at %q: %v", dockerfile, err)
	}
	absCtx, _ := filepath.Abs(ctxDir)
	absDf, _ := filepath.Abs(dockerfile)
	rel, err := filepath.Rel(absCtx, absDf)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("the Dockerfile %q is outside the build context %q (not implemented by %s)", dockerfile, ctxDir, pluginName)
	}
	return filepath.ToSlash(rel), nil
}

func ignorePatterns(ctxDir string) ([]string, error) {
	f, err := os.Open(filepath.Join(ctxDir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ignorefile.ReadAll(f)
}

// hashContext hashes what a build sends: every file of the context that .dockerignore keeps
// (path, mode and content), and the Dockerfile.
func hashContext(ctxDir, dockerfile string) (string, error) {
	patterns, err := ignorePatterns(ctxDir)
	if err != nil {
		return "", err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var paths []string
	err = filepath.WalkDir(ctxDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ctxDir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		skip, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if skip && rel != dockerfile {
			if d.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(paths)
	for _, rel := range paths {
		p := filepath.Join(ctxDir, rel)
		st, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", rel, st.Mode())
		switch {
		case st.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", err
			}
		case st.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprint(h, target)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// build sends the context to the Docker Engine (the classic builder: it needs no BuildKit
// session) and returns the built image's ID. Build output goes to the engine's log, the tail of
// it into the error when a step fails.
func (p *dockerProvider) build(ctx context.Context, c *client.Client, urn string, r buildRequest) (string, error) {
	patterns, err := ignorePatterns(r.context)
	if err != nil {
		return "", fmt.Errorf("reading %s/.dockerignore: %w", r.context, err)
	}
	// The Dockerfile and .dockerignore always go with the context, as the docker CLI does.
	var kept []string
	for _, pat := range patterns {
		if pat != r.dockerfile && pat != ".dockerignore" {
			kept = append(kept, pat)
		}
	}
	tar, err := archive.TarWithOptions(r.context, &archive.TarOptions{ExcludePatterns: kept, ChownOpts: &archive.ChownOpts{UID: 0, GID: 0}})
	if err != nil {
		return "", fmt.Errorf("packing the build context %q: %w", r.context, err)
	}
	defer tar.Close()
	p.status(ctx, urn, "building %s from %s", r.tag, r.context)
	resp, err := c.ImageBuild(ctx, tar, build.ImageBuildOptions{
		Tags:        []string{r.tag},
		Dockerfile:  r.dockerfile,
		BuildArgs:   r.args,
		Target:      r.target,
		Labels:      r.labels,
		NoCache:     r.noCache,
		NetworkMode: r.network,
		ExtraHosts:  r.extraHosts,
		Remove:      true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("building %s: %w", r.tag, err)
	}
	defer resp.Body.Close()
	var tail []string
	var imageID string
	dec := json.NewDecoder(resp.Body)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("building %s: reading the engine's answer: %w", r.tag, err)
		}
		if m.Error != nil {
			return "", fmt.Errorf("building %s from %s failed: %s\n--- last build output ---\n%s", r.tag, r.context, m.Error.Message, strings.Join(tail, ""))
		}
		if m.Aux != nil {
			var aux struct{ ID string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.ID != "" {
				imageID = aux.ID
			}
		}
		if m.Stream != "" {
			tail = append(tail, m.Stream)
			if len(tail) > 40 {
				tail = tail[1:]
			}
			if line := strings.TrimSpace(m.Stream); strings.HasPrefix(line, "Step ") {
				p.status(ctx, urn, "%s: %s", r.tag, line)
			}
			p.logf(ctx, diag.Debug, urn, "%s", strings.TrimRight(m.Stream, "\n"))
		}
	}
	if imageID == "" {
		insp, err := c.ImageInspect(ctx, r.tag)
		if err != nil {
			return "", fmt.Errorf("building %s: the built image is not there: %w", r.tag, err)
		}
		imageID = insp.ID
	}
	return imageID, nil
}

// buildImage is the native v4 Image's create and update: build, tag imageName, no push.
func (p *dockerProvider) buildImage(ctx context.Context, c *client.Client, urn string, in resource.PropertyMap) (string, resource.PropertyMap, error) {
	b := getObj(in, "build")
	ctxDir, dockerfile := getStr(b, "context"), getStr(b, "dockerfile")
	rel, err := dockerfileInContext(ctxDir, dockerfile)
	if err != nil {
		return "", nil, err
	}
	args := map[string]*string{}
	for k, v := range getStrMap(b, "args") {
		v := v
		args[k] = &v
	}
	name := getStr(in, "imageName")
	id, err := p.build(ctx, c, urn, buildRequest{context: ctxDir, dockerfile: rel, tag: name, args: args, target: getStr(b, "target")})
	if err != nil {
		return "", nil, err
	}
	out := merge(in, resource.PropertyMap{
		"imageName":      resource.NewStringProperty(name),
		"baseImageName":  resource.NewStringProperty(name),
		"repoDigest":     resource.NewStringProperty(id),
		"context":        resource.NewStringProperty(ctxDir),
		"dockerfile":     resource.NewStringProperty(rel),
		"registryServer": resource.NewStringProperty(""),
		"platform":       resource.NewStringProperty("linux/" + runtime.GOARCH),
	})
	return name, out, nil
}

// readImage: the native Image is gone when its tag no longer names an image.
func readImage(ctx context.Context, c *client.Client, props resource.PropertyMap) (resource.PropertyMap, error) {
	insp, err := c.ImageInspect(ctx, getStr(props, "imageName"))
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return merge(props, resource.PropertyMap{"repoDigest": resource.NewStringProperty(insp.ID)}), nil
}

func remoteImageOutputs(in resource.PropertyMap, insp image.InspectResponse) resource.PropertyMap {
	digest := ""
	if len(insp.RepoDigests) > 0 {
		digest = insp.RepoDigests[0]
	}
	return merge(in, resource.PropertyMap{
		"imageId":    resource.NewStringProperty(insp.ID),
		"repoDigest": resource.NewStringProperty(digest),
	})
}

// createRemoteImage builds the image when `build` is given; otherwise the image must already be
// on the Docker host: this stand-in never pulls (no registry is reachable from our machines).
func (p *dockerProvider) createRemoteImage(ctx context.Context, c *client.Client, urn string, in resource.PropertyMap) (string, resource.PropertyMap, error) {
	name := getStr(in, "name")
	if b := getObj(in, "build"); b != nil {
		ctxDir := getStr(b, "context")
		rel, err := dockerfileInContext(ctxDir, filepath.Join(ctxDir, getStr(b, "dockerfile")))
		if err != nil {
			return "", nil, err
		}
		args := map[string]*string{}
		for k, v := range getStrMap(b, "buildArgs") {
			v := v
			args[k] = &v
		}
		labels := getStrMap(b, "labels")
		for k, v := range getStrMap(b, "label") {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[k] = v
		}
		if _, err := p.build(ctx, c, urn, buildRequest{
			context: ctxDir, dockerfile: rel, tag: name, args: args, target: getStr(b, "target"), labels: labels,
			noCache: getBool(b, "noCache"), network: getStr(b, "networkMode"), extraHosts: getStrs(b, "extraHosts"),
		}); err != nil {
			return "", nil, err
		}
	}
	insp, err := c.ImageInspect(ctx, name)
	if errdefs.IsNotFound(err) {
		return "", nil, fmt.Errorf("image %q is not on the Docker host, and Lakeform's stand-in %s never pulls: build it (the `build` field), load it (`docker load`), or import it first", name, pluginName)
	}
	if err != nil {
		return "", nil, err
	}
	return insp.ID + name, remoteImageOutputs(in, insp), nil
}

func readRemoteImage(ctx context.Context, c *client.Client, props resource.PropertyMap) (resource.PropertyMap, error) {
	ref := getStr(props, "imageId")
	if ref == "" {
		ref = getStr(props, "name")
	}
	insp, err := c.ImageInspect(ctx, ref)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return remoteImageOutputs(props, insp), nil
}

// deleteRemoteImage removes the image's tag unless keepLocally (as upstream); an image still used
// by a container stays, with a warning.
func (p *dockerProvider) deleteRemoteImage(ctx context.Context, c *client.Client, urn string, props resource.PropertyMap) error {
	if getBool(props, "keepLocally") {
		return nil
	}
	_, err := c.ImageRemove(ctx, getStr(props, "name"), image.RemoveOptions{Force: getBool(props, "forceRemove"), PruneChildren: true})
	if errdefs.IsConflict(err) {
		p.logf(ctx, diag.Warning, urn, "image %s is still in use, left in place: %v", getStr(props, "name"), err)
		return nil
	}
	return err
}
