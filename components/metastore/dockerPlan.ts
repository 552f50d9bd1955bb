/**
 * The Hive Metastore as a container: Lakeform's metastore image, the same Hive 2.3.9 metastore the
 * local runtime runs (Hadoop 3.3.4's client from pyspark's jars with the matching hadoop-aws 3.3.4),
 * on Derby in a named volume: the schema is created on first start and a restart resumes on it.
 * Pure: args + toolchain → plan.
 */
import { metastoreSiteSettings, renderHadoopXml, s3aSettings, type LakeConnection } from "../connection";
import { dockerHealthcheck, dockerName, lakeformImage, WAIT, type DockerPlan, type DockerSite } from "../plans";
import type { Toolchain } from "../toolchain";

export interface MetastoreDockerArgs extends DockerSite {
  /** The component's name: every resource name starts with it. */
  name: string;
  /** Unused on docker (the Thrift port is not published); kept so both runtimes take the same args. */
  port: number;
  heap: string;
}

/** thrift:// URI of the metastore as the engines reach it on the stack's network. */
export function metastoreDockerUri(args: Pick<MetastoreDockerArgs, "name" | "prefix">): string {
  return `thrift://${dockerName(args, `${args.name}-hms`)}:9083`;
}

/** Where the image keeps its Derby database (a named volume). */
export const METASTORE_DATA = "/var/lib/metastore";

export function metastoreDockerPlan(args: MetastoreDockerArgs, tc: Toolchain, conn: LakeConnection): DockerPlan {
  const { name, heap } = args;
  const resource = `${name}-hms`;
  const volume = { key: `${name}-data`, name: dockerName(args, `${name}-data`) };
  return {
    images: [lakeformImage(tc, "metastore", `${name}-image`)],
    volumes: [volume],
    containers: [
      {
        name: resource,
        hostname: dockerName(args, resource),
        image: `${name}-image`,
        envs: [`METASTORE_HEAP=${heap}`],
        uploads: [
          { file: "/opt/lakeform/conf/hive-site.xml", content: renderHadoopXml(metastoreSiteSettings(conn, `${METASTORE_DATA}/metastore_db`)) },
          { file: "/opt/lakeform/conf/core-site.xml", content: renderHadoopXml(s3aSettings(conn)) },
        ],
        // Not published: Hive 2.3.9's metastore authenticates no one (Kerberos/SASL only), and
        // nothing on the host talks to it (the reconciler and the API go through Trino and the
        // job server). Spark and Trino reach it on the stack's network.
        ports: [],
        mounts: [{ volume: volume.key, containerPath: METASTORE_DATA }],
        aliases: [],
        healthcheck: dockerHealthcheck(["tcp", "9083"], 60),
        waitTimeout: WAIT.jvm,
        after: [],
        afterDependencies: true,
      },
    ],
    server: resource,
  };
}
