/** The Hive Metastore as containers (PostgreSQL + the metastore): pure, args + toolchain → plan. */
import * as path from "node:path";
import { renderHadoopXml, s3aSettings, type LakeConnection } from "../connection";
import { jarFileName } from "../local/install";
import { dockerHealthcheck, type DockerPlan } from "../plans";
import type { Toolchain } from "../toolchain";
import { IMAGES, S3A_JARS } from "../versions";

export interface MetastoreDockerArgs {
  /** The component's name: every resource name starts with it. */
  name: string;
  port: number;
  heap: string;
}

/** thrift:// URI of the metastore as the engines reach it on the stack's network. */
export function metastoreDockerUri(args: Pick<MetastoreDockerArgs, "name">): string {
  return `thrift://${args.name}-hms:9083`;
}

export function metastoreDockerPlan(args: MetastoreDockerArgs, tc: Toolchain, conn: LakeConnection): DockerPlan {
  const { name, port, heap } = args;
  const pgName = `${name}-postgres`;
  const hmsName = `${name}-hms`;
  // The database password is the S3 secret: one generated secret, never a default one.
  const dbPassword = conn.secretKey;
  return {
    images: [
      { key: `${name}-postgres-image`, name: IMAGES.postgres },
      { key: `${name}-image`, name: IMAGES.hive },
    ],
    volumes: [`${name}-postgres-data`],
    containers: [
      {
        name: pgName,
        image: `${name}-postgres-image`,
        envs: [`POSTGRES_PASSWORD=${dbPassword}`, "POSTGRES_USER=hive", "POSTGRES_DB=metastore"],
        uploads: [],
        ports: [],
        mounts: [{ volume: `${name}-postgres-data`, containerPath: "/var/lib/postgresql/data" }],
        aliases: [],
        healthcheck: dockerHealthcheck("pg_isready -U hive -d metastore", "10s"),
        after: [],
        afterDependencies: false,
      },
      {
        name: hmsName,
        image: `${name}-image`,
        envs: [
          "SERVICE_NAME=metastore",
          "DB_DRIVER=postgres",
          "HIVE_AUX_JARS_PATH=/opt/lakeform/jars",
          `SERVICE_OPTS=-Xmx${heap} -Djavax.jdo.option.ConnectionDriverName=org.postgresql.Driver -Djavax.jdo.option.ConnectionURL=jdbc:postgresql://${pgName}:5432/metastore -Djavax.jdo.option.ConnectionUserName=hive -Djavax.jdo.option.ConnectionPassword=${dbPassword}`,
        ],
        uploads: [{ file: "/opt/hive/conf/core-site.xml", content: renderHadoopXml(s3aSettings(conn)) }],
        ports: [{ internal: 9083, external: port }],
        // hadoop-aws and the AWS SDK bundle, fetched into the host's cache by the same installer.
        mounts: S3A_JARS.map((coord) => {
          const file = path.join(tc.cache, "jars", jarFileName(coord));
          return { hostPath: file, containerPath: `/opt/lakeform/jars/${path.basename(file)}`, readOnly: true };
        }),
        aliases: ["metastore"],
        healthcheck: dockerHealthcheck("bash -c '</dev/tcp/localhost/9083'", "60s"),
        after: [pgName],
        afterDependencies: true,
      },
    ],
    server: hmsName,
  };
}
