package main

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func createNetwork(ctx context.Context, c *client.Client, in resource.PropertyMap) (string, resource.PropertyMap, error) {
	name := getStr(in, "name")
	resp, err := c.NetworkCreate(ctx, name, network.CreateOptions{
		Driver:     getStr(in, "driver"),
		Internal:   getBool(in, "internal"),
		Attachable: getBool(in, "attachable"),
		Labels:     labelsOf(in),
		Options:    getStrMap(in, "options"),
	})
	if err != nil {
		return "", nil, fmt.Errorf("creating network %q: %w", name, err)
	}
	outs, err := readNetwork(ctx, c, resp.ID, in)
	if err == nil && outs == nil {
		err = fmt.Errorf("network %q vanished right after it was created", name)
	}
	return resp.ID, outs, err
}

// readNetwork: nil outputs when the network is gone.
func readNetwork(ctx context.Context, c *client.Client, id string, props resource.PropertyMap) (resource.PropertyMap, error) {
	n, err := c.NetworkInspect(ctx, id, network.InspectOptions{})
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := merge(props, nil)
	out["name"] = resource.NewStringProperty(n.Name)
	out["driver"] = resource.NewStringProperty(n.Driver)
	out["internal"] = resource.NewBoolProperty(n.Internal)
	out["scope"] = resource.NewStringProperty(n.Scope)
	opts := resource.PropertyMap{}
	for k, v := range n.Options {
		opts[resource.PropertyKey(k)] = resource.NewStringProperty(v)
	}
	out["options"] = resource.NewObjectProperty(opts)
	var ipam []resource.PropertyValue
	for _, cfg := range n.IPAM.Config {
		ipam = append(ipam, resource.NewObjectProperty(resource.PropertyMap{
			"subnet":  resource.NewStringProperty(cfg.Subnet),
			"gateway": resource.NewStringProperty(cfg.Gateway),
			"ipRange": resource.NewStringProperty(cfg.IPRange),
		}))
	}
	out["ipamConfigs"] = resource.NewArrayProperty(ipam)
	return out, nil
}

func createVolume(ctx context.Context, c *client.Client, in resource.PropertyMap) (string, resource.PropertyMap, error) {
	name := getStr(in, "name")
	v, err := c.VolumeCreate(ctx, volume.CreateOptions{
		Name:       name,
		Driver:     getStr(in, "driver"),
		DriverOpts: getStrMap(in, "driverOpts"),
		Labels:     labelsOf(in),
	})
	if err != nil {
		return "", nil, fmt.Errorf("creating volume %q: %w", name, err)
	}
	outs, err := readVolume(ctx, c, v.Name, in)
	if err == nil && outs == nil {
		err = fmt.Errorf("volume %q vanished right after it was created", name)
	}
	return v.Name, outs, err
}

func readVolume(ctx context.Context, c *client.Client, id string, props resource.PropertyMap) (resource.PropertyMap, error) {
	v, err := c.VolumeInspect(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := merge(props, nil)
	out["name"] = resource.NewStringProperty(v.Name)
	out["driver"] = resource.NewStringProperty(v.Driver)
	out["mountpoint"] = resource.NewStringProperty(v.Mountpoint)
	return out, nil
}
