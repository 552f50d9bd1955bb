/** Trino as containers (a coordinator and its workers): pure, args + toolchain → plan. */
import type { LakeConnection } from "../connection";
import { dockerHealthcheck, type DockerContainerPlan, type DockerPlan } from "../plans";
import type { Toolchain } from "../toolchain";
import { IMAGES } from "../versions";
import { trinoEtcFiles } from "./types";

export interface TrinoDockerArgs {
  /** The component's name: every resource name starts with it. */
  name: string;
  port: number;
  workers: number;
  heap: string;
}

export function trinoDockerPlan(args: TrinoDockerArgs, _tc: Toolchain, conn: LakeConnection): DockerPlan {
  const { name, port, workers, heap } = args;
  const image = `${name}-image`;
  const coordName = `${name}-coordinator`;
  const nodeFiles = (coordinator: boolean, nodeId: string) =>
    Object.entries(
      trinoEtcFiles({ coordinator, port: 8080, discoveryUri: `http://${coordName}:8080`, nodeId, dataDir: "/data/trino", heap }, conn, "/etc/trino"),
    ).map(([file, content]) => ({ file: `/etc/trino/${file}`, content }));
  const coordinator: DockerContainerPlan = {
    name: coordName,
    image,
    envs: [],
    uploads: nodeFiles(true, "coordinator"),
    ports: [{ internal: 8080, external: port }],
    mounts: [],
    aliases: ["trino"],
    healthcheck: dockerHealthcheck("curl -fsS http://localhost:8080/v1/info | grep -q '\"starting\":false'", "60s"),
    after: [],
    afterDependencies: true,
  };
  const workerNodes = Array.from({ length: workers }, (_, k): DockerContainerPlan => ({
    name: `${name}-worker-${k + 1}`,
    image,
    envs: [],
    uploads: nodeFiles(false, `worker-${k + 1}`),
    ports: [],
    mounts: [],
    aliases: [],
    healthcheck: dockerHealthcheck("curl -fsS http://localhost:8080/v1/info", "60s"),
    after: [coordName],
    afterDependencies: false,
  }));
  return { images: [{ key: image, name: IMAGES.trino }], volumes: [], containers: [coordinator, ...workerNodes], server: coordName };
}
