// The integration test's program: a network, a volume, a tiny image built from ./image, and a
// container on both with a health check, an upload and a port on 127.0.0.1. Config: prefix, port,
// imageContext (the image's build context, prepared by the Go test).
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

const cfg = new pulumi.Config();
const prefix = cfg.require("prefix");
const port = cfg.requireNumber("port");
const context = cfg.require("imageContext");
const mark = cfg.get("mark") ?? "one";

const base = new docker.RemoteImage("base", { name: "debian:bookworm-slim", keepLocally: true });
const net = new docker.Network("net", { name: `${prefix}-net`, driver: "bridge" });
const vol = new docker.Volume("data", { name: `${prefix}-data` });
const image = new docker.Image("image", {
  imageName: `${prefix}-image:latest`,
  skipPush: true,
  build: { context, args: { BASE: base.name, MARK: mark } },
});
const app = new docker.Container("app", {
  name: `${prefix}-app`,
  image: image.repoDigest,
  restart: "unless-stopped",
  envs: ["GREETING=hello"],
  uploads: [{ file: "/etc/it/motd", content: `uploaded ${mark}` }],
  ports: [{ internal: 8080, external: port, ip: "127.0.0.1" }],
  volumes: [{ volumeName: vol.name, containerPath: "/data" }],
  networksAdvanced: [{ name: net.name, aliases: ["app"] }],
  healthcheck: { tests: ["CMD", "/usr/local/bin/it-server", "-check"], interval: "1s", timeout: "2s", retries: 30 },
  wait: true,
  waitTimeout: 60,
});

export const containerId = app.id;
export const containerName = app.name;
export const networkId = net.id;
export const volumeName = vol.name;
export const imageId = image.repoDigest;
export const baseImageId = base.imageId;
