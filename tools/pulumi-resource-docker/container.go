package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

var restartPolicies = map[string]bool{"no": true, "on-failure": true, "always": true, "unless-stopped": true}

// checkContainer validates what the field list alone can't (only values already known).
func checkContainer(in resource.PropertyMap) []*pulumirpc.CheckFailure {
	var fs []*pulumirpc.CheckFailure
	if v := in["restart"]; v.IsString() && !restartPolicies[v.StringValue()] {
		fs = append(fs, failure("restart", "%s: restart must be one of no, on-failure, always, unless-stopped; got %q", tContainer, v.StringValue()))
	}
	for _, k := range []string{"attach", "logs"} {
		if getBool(in, k) {
			fs = append(fs, failure(k, "%s: %s: true is not implemented by Lakeform's stand-in %s", tContainer, k, pluginName))
		}
	}
	for i, v := range getObjs(in, "volumes") {
		if v["containerPath"].IsNull() {
			fs = append(fs, failure(fmt.Sprintf("volumes[%d].containerPath", i), "%s: volumes[%d] needs containerPath", tContainer, i))
		}
		if getStr(v, "volumeName") != "" && getStr(v, "hostPath") != "" {
			fs = append(fs, failure(fmt.Sprintf("volumes[%d]", i), "%s: volumes[%d] sets both volumeName and hostPath", tContainer, i))
		}
	}
	for i, m := range getObjs(in, "mounts") {
		if t := m["type"]; t.IsString() && t.StringValue() != "bind" && t.StringValue() != "volume" && t.StringValue() != "tmpfs" {
			fs = append(fs, failure(fmt.Sprintf("mounts[%d].type", i), "%s: mounts[%d].type must be bind, volume or tmpfs; got %q", tContainer, i, t.StringValue()))
		}
	}
	for i, u := range getObjs(in, "uploads") {
		set, unknown := 0, false
		for _, k := range []string{"content", "contentBase64", "source"} {
			if u[resource.PropertyKey(k)].ContainsUnknowns() {
				unknown = true
			} else if _, ok := u[resource.PropertyKey(k)]; ok {
				set++
			}
		}
		if !unknown && set != 1 {
			fs = append(fs, failure(fmt.Sprintf("uploads[%d]", i), "%s: uploads[%d] needs exactly one of content, contentBase64 or source", tContainer, i))
		}
	}
	if hc := getObj(in, "healthcheck"); hc != nil {
		for _, k := range []string{"interval", "timeout", "startPeriod", "startInterval"} {
			if v := hc[resource.PropertyKey(k)]; v.IsString() {
				if _, err := time.ParseDuration(v.StringValue()); err != nil {
					fs = append(fs, failure("healthcheck."+k, "%s: healthcheck.%s: %v", tContainer, k, err))
				}
			}
		}
	} else if getBool(in, "wait") && !in["healthcheck"].ContainsUnknowns() {
		fs = append(fs, failure("wait", "%s: wait: true needs a healthcheck (the container would never report healthy)", tContainer))
	}
	return fs
}

func dur(hc resource.PropertyMap, k string) time.Duration {
	d, _ := time.ParseDuration(getStr(hc, k))
	return d
}

// containerConfig turns the inputs into the Engine's create request.
func containerConfig(in resource.PropertyMap) (*container.Config, *container.HostConfig, error) {
	cfg := &container.Config{
		Image:      getStr(in, "image"),
		Cmd:        getStrs(in, "command"),
		Entrypoint: getStrs(in, "entrypoints"),
		Env:        getStrs(in, "envs"),
		Labels:     labelsOf(in),
		Hostname:   getStr(in, "hostname"),
		User:       getStr(in, "user"),
		WorkingDir: getStr(in, "workingDir"),
		StopSignal: getStr(in, "stopSignal"),
	}
	if n, ok := getNum(in, "stopTimeout"); ok {
		t := int(n)
		cfg.StopTimeout = &t
	}
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(getStr(in, "networkMode")),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(getStr(in, "restart"))},
	}
	if n, ok := getNum(in, "maxRetryCount"); ok {
		host.RestartPolicy.MaximumRetryCount = int(n)
	}
	if n, ok := getNum(in, "memory"); ok && n > 0 {
		host.Memory = n * 1024 * 1024
	}
	if v := in["init"]; v.IsBool() {
		b := v.BoolValue()
		host.Init = &b
	}
	exposed, bindings := nat.PortSet{}, nat.PortMap{}
	for _, p := range getObjs(in, "ports") {
		internal, _ := getNum(p, "internal")
		proto := getStr(p, "protocol")
		if proto == "" {
			proto = "tcp"
		}
		port, err := nat.NewPort(proto, strconv.FormatInt(internal, 10))
		if err != nil {
			return nil, nil, fmt.Errorf("ports: %w", err)
		}
		exposed[port] = struct{}{}
		b := nat.PortBinding{HostIP: getStr(p, "ip")}
		if ext, ok := getNum(p, "external"); ok {
			b.HostPort = strconv.FormatInt(ext, 10)
		}
		bindings[port] = append(bindings[port], b)
	}
	if len(exposed) > 0 {
		cfg.ExposedPorts, host.PortBindings = exposed, bindings
	}
	for _, v := range getObjs(in, "volumes") {
		target := getStr(v, "containerPath")
		src := getStr(v, "volumeName")
		if src == "" {
			src = getStr(v, "hostPath")
		}
		if src == "" {
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[target] = struct{}{}
			continue
		}
		bind := src + ":" + target
		if getBool(v, "readOnly") {
			bind += ":ro"
		}
		host.Binds = append(host.Binds, bind)
	}
	for _, m := range getObjs(in, "mounts") {
		host.Mounts = append(host.Mounts, mount.Mount{
			Type: mount.Type(getStr(m, "type")), Source: getStr(m, "source"), Target: getStr(m, "target"), ReadOnly: getBool(m, "readOnly"),
		})
	}
	if hc := getObj(in, "healthcheck"); hc != nil {
		retries, _ := getNum(hc, "retries")
		cfg.Healthcheck = &container.HealthConfig{
			Test: getStrs(hc, "tests"), Interval: dur(hc, "interval"), Timeout: dur(hc, "timeout"),
			StartPeriod: dur(hc, "startPeriod"), StartInterval: dur(hc, "startInterval"), Retries: int(retries),
		}
	}
	return cfg, host, nil
}

// uploadTar packs one upload as the single file it names, with upstream's modes (0644, 0744
// when executable, or the octal `permissions`).
func uploadTar(u resource.PropertyMap) ([]byte, error) {
	var content []byte
	switch {
	case u["content"].IsString():
		content = []byte(getStr(u, "content"))
	case u["contentBase64"].IsString():
		b, err := base64.StdEncoding.DecodeString(getStr(u, "contentBase64"))
		if err != nil {
			return nil, fmt.Errorf("uploads %s: contentBase64: %w", getStr(u, "file"), err)
		}
		content = b
	default:
		b, err := os.ReadFile(getStr(u, "source"))
		if err != nil {
			return nil, fmt.Errorf("uploads %s: %w", getStr(u, "file"), err)
		}
		content = b
	}
	mode := int64(0o644)
	if getBool(u, "executable") {
		mode = 0o744
	}
	if perm := getStr(u, "permissions"); perm != "" {
		m, err := strconv.ParseInt(perm, 8, 32)
		if err != nil {
			return nil, fmt.Errorf("uploads %s: permissions %q: %w", getStr(u, "file"), perm, err)
		}
		mode = m
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(getStr(u, "file"), "/"), Mode: mode, Size: int64(len(content)), ModTime: time.Now()}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (p *dockerProvider) createContainer(ctx context.Context, c *client.Client, urn string, in resource.PropertyMap, _ float64) (string, resource.PropertyMap, error) {
	name, img := getStr(in, "name"), getStr(in, "image")
	if _, err := c.ImageInspect(ctx, img); errdefs.IsNotFound(err) {
		return "", nil, fmt.Errorf("container %s: image %q is not on the Docker host, and Lakeform's stand-in %s never pulls", name, img, pluginName)
	} else if err != nil {
		return "", nil, err
	}
	cfg, host, err := containerConfig(in)
	if err != nil {
		return "", nil, fmt.Errorf("container %s: %w", name, err)
	}
	created, err := c.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		return "", nil, fmt.Errorf("creating container %s: %w", name, err)
	}
	id := created.ID
	// Whatever fails from here on removes the half-made container, so the next `up` starts clean
	// (a failed create leaves nothing in the state that could point at it).
	fail := func(err error) (string, resource.PropertyMap, error) {
		_ = c.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		return "", nil, err
	}
	if nets := getObjs(in, "networksAdvanced"); len(nets) > 0 {
		if err := c.NetworkDisconnect(ctx, "bridge", id, false); err != nil && !strings.Contains(err.Error(), "is not connected") {
			return fail(fmt.Errorf("container %s: leaving the default bridge network: %w", name, err))
		}
		for _, n := range nets {
			if err := c.NetworkConnect(ctx, getStr(n, "name"), id, &network.EndpointSettings{Aliases: getStrs(n, "aliases")}); err != nil {
				return fail(fmt.Errorf("container %s: joining network %q: %w", name, getStr(n, "name"), err))
			}
		}
	}
	for _, u := range getObjs(in, "uploads") {
		data, err := uploadTar(u)
		if err != nil {
			return fail(fmt.Errorf("container %s: %w", name, err))
		}
		if err := c.CopyToContainer(ctx, id, "/", bytes.NewReader(data), container.CopyToContainerOptions{}); err != nil {
			return fail(fmt.Errorf("container %s: uploading %s: %w", name, getStr(u, "file"), err))
		}
	}
	if getBool(in, "start") {
		if err := c.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			return fail(fmt.Errorf("starting container %s: %w", name, err))
		}
		if getBool(in, "wait") {
			timeout, _ := getNum(in, "waitTimeout")
			if err := p.waitHealthy(ctx, c, urn, id, name, time.Duration(timeout)*time.Second); err != nil {
				return fail(err)
			}
		}
	}
	outs, err := containerOutputs(ctx, c, id, in)
	if err != nil {
		return fail(err)
	}
	return id, outs, nil
}

// waitHealthy waits for the health check to pass, failing at once when the container exits.
// The error carries the last health check output and the last lines of the container's log.
func (p *dockerProvider) waitHealthy(ctx context.Context, c *client.Client, urn, id, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	p.status(ctx, urn, "waiting up to %s for %s to be healthy", timeout, name)
	for {
		insp, err := c.ContainerInspect(ctx, id)
		if err != nil {
			return fmt.Errorf("container %s: %w", name, err)
		}
		if insp.State.Health == nil {
			return fmt.Errorf("container %s: wait: true, but the container has no healthcheck", name)
		}
		if insp.State.Health.Status == container.Healthy {
			return nil
		}
		why := ""
		switch {
		case !insp.State.Running && !insp.State.Restarting:
			why = fmt.Sprintf("exited with code %d before it became healthy", insp.State.ExitCode)
		case time.Now().After(deadline):
			why = fmt.Sprintf("was not healthy within waitTimeout (%s); health: %s", timeout, insp.State.Health.Status)
		}
		if why != "" {
			last := ""
			if n := len(insp.State.Health.Log); n > 0 {
				last = strings.TrimSpace(insp.State.Health.Log[n-1].Output)
			}
			return fmt.Errorf("container %s %s\n--- last health check output ---\n%s\n--- last log lines ---\n%s", name, why, last, logTail(ctx, c, id, 30))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func logTail(ctx context.Context, c *client.Client, id string, lines int) string {
	r, err := c.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(lines)})
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	defer r.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, r); err != nil {
		return out.String() + "(" + err.Error() + ")"
	}
	return out.String()
}

// containerOutputs: the inputs plus what the Engine reports (upstream's computed outputs).
func containerOutputs(ctx context.Context, c *client.Client, id string, in resource.PropertyMap) (resource.PropertyMap, error) {
	insp, err := c.ContainerInspect(ctx, id)
	if err != nil {
		return nil, err
	}
	out := merge(in, nil)
	out["name"] = resource.NewStringProperty(strings.TrimPrefix(insp.Name, "/"))
	out["exitCode"] = resource.NewNumberProperty(float64(insp.State.ExitCode))
	out["containerLogs"] = resource.NewStringProperty("")
	if _, ok := in["hostname"]; !ok && insp.Config != nil {
		out["hostname"] = resource.NewStringProperty(insp.Config.Hostname)
	}
	if _, ok := in["command"]; !ok && insp.Config != nil {
		out["command"] = strArray(insp.Config.Cmd)
	}
	if _, ok := in["entrypoints"]; !ok && insp.Config != nil {
		out["entrypoints"] = strArray(insp.Config.Entrypoint)
	}
	var nets []resource.PropertyValue
	bridge := ""
	if ns := insp.NetworkSettings; ns != nil {
		bridge = ns.Bridge
		for netName, ep := range ns.Networks {
			nets = append(nets, resource.NewObjectProperty(resource.PropertyMap{
				"networkName":    resource.NewStringProperty(netName),
				"ipAddress":      resource.NewStringProperty(ep.IPAddress),
				"ipPrefixLength": resource.NewNumberProperty(float64(ep.IPPrefixLen)),
				"gateway":        resource.NewStringProperty(ep.Gateway),
				"macAddress":     resource.NewStringProperty(ep.MacAddress),
			}))
		}
		// Ports without an external one get the port the Engine chose.
		if ports := getObjs(in, "ports"); len(ports) > 0 {
			var filled []resource.PropertyValue
			for _, p := range ports {
				q := merge(p, nil)
				if _, ok := p["external"]; !ok {
					internal, _ := getNum(p, "internal")
					proto := getStr(p, "protocol")
					port, _ := nat.NewPort(proto, strconv.FormatInt(internal, 10))
					if bs := ns.Ports[port]; len(bs) > 0 {
						if ext, err := strconv.Atoi(bs[0].HostPort); err == nil {
							q["external"] = resource.NewNumberProperty(float64(ext))
						}
					}
				}
				filled = append(filled, resource.NewObjectProperty(q))
			}
			out["ports"] = resource.NewArrayProperty(filled)
		}
	}
	out["bridge"] = resource.NewStringProperty(bridge)
	out["networkDatas"] = resource.NewArrayProperty(nets)
	return out, nil
}

func strArray(ss []string) resource.PropertyValue {
	vs := []resource.PropertyValue{}
	for _, s := range ss {
		vs = append(vs, resource.NewStringProperty(s))
	}
	return resource.NewArrayProperty(vs)
}

// readContainer: gone when the container vanished; as upstream, a container that isn't running
// while mustRun is true is removed and reported gone, so `pulumi refresh` shows it and the next
// `pulumi up` creates it again (named volumes keep the data).
func (p *dockerProvider) readContainer(ctx context.Context, c *client.Client, urn, id string, props resource.PropertyMap) (resource.PropertyMap, error) {
	insp, err := c.ContainerInspect(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	mustRun := true
	if v := props["mustRun"]; v.IsBool() {
		mustRun = v.BoolValue()
	}
	if mustRun && !insp.State.Running {
		p.logf(ctx, diag.Warning, urn, "container %s is not running (%s, exit code %d): removing it, the next update creates it again",
			strings.TrimPrefix(insp.Name, "/"), insp.State.Status, insp.State.ExitCode)
		if err := deleteContainer(ctx, c, id, props); err != nil && !errdefs.IsNotFound(err) {
			return nil, err
		}
		return nil, nil
	}
	return containerOutputs(ctx, c, id, props)
}

// updateContainer applies what upstream updates in place (restart policy, memory); the other
// in-place fields only change the state.
func (p *dockerProvider) updateContainer(ctx context.Context, c *client.Client, id string, olds, news resource.PropertyMap) (resource.PropertyMap, error) {
	changed, _ := diffFields(olds, news, spec{"restart": upd(), "maxRetryCount": upd(), "memory": upd()})
	if len(changed) > 0 {
		upd := container.UpdateConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(getStr(news, "restart"))}}
		if n, ok := getNum(news, "maxRetryCount"); ok {
			upd.RestartPolicy.MaximumRetryCount = int(n)
		}
		if n, ok := getNum(news, "memory"); ok && n > 0 {
			upd.Resources.Memory = n * 1024 * 1024
		}
		if _, err := c.ContainerUpdate(ctx, id, upd); err != nil {
			return nil, fmt.Errorf("updating container %s: %w", getStr(news, "name"), err)
		}
	}
	return containerOutputs(ctx, c, id, news)
}

// deleteContainer stops the container (waiting destroyGraceSeconds, 0 by default, as upstream)
// and removes it with its anonymous volumes (removeVolumes, default true); named volumes stay.
func deleteContainer(ctx context.Context, c *client.Client, id string, props resource.PropertyMap) error {
	grace, _ := getNum(props, "destroyGraceSeconds")
	t := int(grace)
	if err := c.ContainerStop(ctx, id, container.StopOptions{Timeout: &t}); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stopping container %s: %w", getStr(props, "name"), err)
	}
	removeVolumes := true
	if v := props["removeVolumes"]; v.IsBool() {
		removeVolumes = v.BoolValue()
	}
	err := c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: removeVolumes})
	if err != nil && (errdefs.IsNotFound(err) || strings.Contains(err.Error(), "is already in progress")) {
		return nil
	}
	return err
}
