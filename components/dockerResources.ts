/**
 * Declares a component's docker plan as @pulumi/docker resources: images built from their staged
 * contexts, named volumes, containers.
 *
 * A plan depends on the connection (credentials among it), which is only known inside an
 * Output; the resources, their names and their number must be known outside one. So the plan is
 * built twice: once with placeholder values for its shape (names, images, ports, health checks:
 * everything but the fields that may carry secrets), once with the real values for envs and
 * uploads. Unit tests check that a plan's shape never depends on those values.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerPlan } from "./plans";

export interface DeclaredDockerPlan {
  containers: Record<string, docker.Container>;
  server: docker.Container;
}

export function declareDockerPlan<T>(
  parent: pulumi.Resource,
  planOf: (values: T) => DockerPlan,
  values: pulumi.Output<T>,
  placeholder: T,
  opts: { network?: pulumi.Input<string>; dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> },
): DeclaredDockerPlan {
  const shape = planOf(placeholder);
  const resolved = values.apply(planOf);
  const images = Object.fromEntries(
    shape.images.map((img) => [
      img.key,
      // Built on the Docker host by `up` (nothing is pulled or pushed); the tag is the context's
      // hash, so a changed Dockerfile or job program is a new image and its containers are replaced.
      new docker.Image(img.key, { imageName: img.name, skipPush: true, build: { context: img.build.context, args: img.build.args } }, { parent }),
    ]),
  );
  const volumes = Object.fromEntries(shape.volumes.map((v) => [v.key, new docker.Volume(v.key, { name: v.name }, { parent })]));
  const external = opts.dependsOn === undefined ? [] : Array.isArray(opts.dependsOn) ? opts.dependsOn : [opts.dependsOn];
  const containers: Record<string, docker.Container> = {};
  shape.containers.forEach((c, i) => {
    const mine = resolved.apply((p) => p.containers[i]);
    containers[c.name] = new docker.Container(
      c.name,
      {
        name: c.hostname,
        image: images[c.image].imageName,
        restart: "unless-stopped",
        ...(c.command ? { command: c.command } : {}),
        envs: mine.apply((x) => x.envs),
        uploads: mine.apply((x) => x.uploads),
        ports: c.ports,
        volumes: c.mounts.map((m) => ({ volumeName: volumes[m.volume].name, containerPath: m.containerPath })),
        networksAdvanced: opts.network ? [{ name: opts.network, ...(c.aliases.length ? { aliases: c.aliases } : {}) }] : [],
        healthcheck: c.healthcheck,
        wait: true,
        waitTimeout: c.waitTimeout,
      },
      {
        parent,
        dependsOn: [images[c.image], ...c.after.map((n) => containers[n]), ...(c.afterDependencies ? (external as pulumi.Input<pulumi.Resource>[]) : [])],
      },
    );
  });
  return { containers, server: containers[shape.server] };
}
