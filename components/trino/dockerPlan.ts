/** Trino as containers (a coordinator and its workers) from Lakeform's Trino image: pure, args + toolchain → plan. */
import type { LakeConnection } from "../connection";
import { dockerHealthcheck, dockerName, lakeformImage, WAIT, type DockerContainerPlan, type DockerPlan, type DockerSite } from "../plans";
import type { Toolchain } from "../toolchain";
import { trinoEtcFiles, type TrinoSecrets } from "./types";

export interface TrinoDockerArgs extends DockerSite {
  /** The component's name: every resource name starts with it. */
  name: string;
  port: number;
  workers: number;
  heap: string;
}

/** Inside the containers: plain HTTP for the cluster and the health checks; HTTPS, the coordinator's published port, for clients. */
const HTTP_PORT = 8080;
const HTTPS_PORT = 8443;

/**
 * The coordinator is published on the host's 127.0.0.1 (the reconciler, the API and the CLI run on
 * the host) and asks for a password; workers are reached on the stack's network only.
 */
export function trinoDockerPlan(args: TrinoDockerArgs, tc: Toolchain, conn: LakeConnection, secrets: TrinoSecrets): DockerPlan {
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
        {
          coordinator: isCoordinator,
          port: HTTP_PORT,
          discoveryUri,
          nodeId: dockerName(args, resource),
          dataDir: "/var/lib/trino/data",
          heap,
          ...(isCoordinator ? { httpsPort: HTTPS_PORT } : {}),
        },
        conn,
        "/etc/trino",
        secrets,
      ),
    ).map(([file, content]) => ({ file: `/etc/trino/${file}`, content })),
    ports: isCoordinator ? [{ internal: HTTPS_PORT, external: port, ip: "127.0.0.1" }] : [],
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
