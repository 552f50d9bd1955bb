/** Trino as containers (a coordinator and its workers) from Lakeform's Trino image: pure, args + toolchain → plan. */
import type { LakeConnection } from "../connection";
import { dockerHealthcheck, dockerName, lakeformImage, WAIT, type DockerContainerPlan, type DockerPlan, type DockerSite } from "../plans";
import type { Toolchain } from "../toolchain";
import { trinoEtcFiles } from "./types";

export interface TrinoDockerArgs extends DockerSite {
  /** The component's name: every resource name starts with it. */
  name: string;
  port: number;
  workers: number;
  heap: string;
}

const HTTP_PORT = 8080;

export function trinoDockerPlan(args: TrinoDockerArgs, tc: Toolchain, conn: LakeConnection): DockerPlan {
  const { name, port, workers, heap } = args;
  const image = `${name}-image`;
  const coordinator = `${name}-coordinator`;
  const discoveryUri = `http://${dockerName(args, coordinator)}:${HTTP_PORT}`;
  const node = (resource: string, isCoordinator: boolean): DockerContainerPlan => ({
    name: resource,
    hostname: dockerName(args, resource),
    image,
    envs: [],
    uploads: Object.entries(
      trinoEtcFiles(
        { coordinator: isCoordinator, port: HTTP_PORT, discoveryUri, nodeId: dockerName(args, resource), dataDir: "/var/lib/trino/data", heap },
        conn,
        "/etc/trino",
      ),
    ).map(([file, content]) => ({ file: `/etc/trino/${file}`, content })),
    ports: isCoordinator ? [{ internal: HTTP_PORT, external: port, ip: "127.0.0.1" }] : [],
    mounts: [],
    aliases: [],
    healthcheck: isCoordinator
      ? dockerHealthcheck(["http", String(HTTP_PORT), "/v1/info", '"starting":false'], 120)
      : dockerHealthcheck(["http", String(HTTP_PORT), "/v1/info"], 120),
    waitTimeout: WAIT.jvm,
    after: isCoordinator ? [] : [coordinator],
    afterDependencies: isCoordinator,
  });
  return {
    images: [lakeformImage(tc, "trino", image)],
    volumes: [],
    containers: [node(coordinator, true), ...Array.from({ length: workers }, (_, k) => node(`${name}-worker-${k + 1}`, false))],
    server: coordinator,
  };
}
