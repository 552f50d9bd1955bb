import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  metastoreSiteSettings,
  renderHadoopXml,
  s3aSettings,
  type LakeConnection,
} from "./connection";
import {
  dockerHealthcheck,
  lakeConnection,
  localProcess,
  requireAbsolute,
  requirePort,
  serviceDirs,
  type ObjectStoreConnectionArgs,
  type RuntimeArgs,
} from "./common";
import { findJava17Home, installPaths } from "./local/install";
import { LocalService, type ServicePlan } from "./local/providers";
import { IMAGES, S3A_JARS } from "./versions";

export interface MetastoreArgs extends RuntimeArgs, ObjectStoreConnectionArgs {
  /** Thrift port on the host. */
  port?: number;
  /** JVM heap, e.g. "512m". */
  heap?: string;
}

export const METASTORE_DEFAULTS = { port: 9083, heap: "512m" };

export function validateMetastoreArgs(args: MetastoreArgs): void {
  requirePort("Metastore", "port", args.port ?? METASTORE_DEFAULTS.port);
  if (args.runtime === "local") requireAbsolute("Metastore", "dataDir", args.dataDir);
  if (!/^\d+[mg]$/.test(args.heap ?? METASTORE_DEFAULTS.heap)) throw new Error(`Metastore: heap must look like 512m or 1g`);
}

/**
 * The local metastore: Hive 2.3.9's HiveMetaStore from the jars pyspark ships, on embedded Derby,
 * with hadoop-aws on the classpath so s3a:// locations resolve (without it: "S3AFileSystem not found").
 */
export function metastoreLocalPlan(dataDir: string, port: number, heap: string, conn: LakeConnection): ServicePlan {
  const dirs = serviceDirs(dataDir, "metastore");
  const bin = installPaths();
  const derby = path.join(dirs.data, "metastore_db");
  const classpath = [dirs.conf, path.join(bin.sparkJarsDir, "*"), ...bin.s3aJars].join(":");
  return {
    service: "metastore",
    install: ["python", "jars"],
    files: {
      [path.join(dirs.conf, "hive-site.xml")]: renderHadoopXml(metastoreSiteSettings(conn, derby)),
      [path.join(dirs.conf, "core-site.xml")]: renderHadoopXml(s3aSettings(conn)),
    },
    dirs: [dirs.data],
    process: localProcess(dataDir, "metastore", {
      // First the transaction tables (idempotent), then the metastore itself in the same process.
      command: [
        "/bin/sh",
        "-c",
        '"$2" -Xmx256m -cp "$0" "$1" && shift && exec "$@"',
        classpath,
        TXN_SCHEMA_SOURCE,
        javaBin(),
        `-Xmx${heap}`,
        `-Dderby.system.home=${dirs.data}`,
        `-Dhive.log.dir=${path.dirname(dirs.logFile)}`,
        "-Dhive.log.file=hive.log",
        "-cp",
        classpath,
        "org.apache.hadoop.hive.metastore.HiveMetaStore",
        "-p",
        String(port),
      ],
      env: {},
      // Derby's schema is created on first start; give it time on 2 cores.
      health: { tcpPort: port },
      ports: [port],
      startTimeoutSec: 180,
      cwd: dirs.data,
    }),
  };
}

const TXN_SCHEMA_SOURCE = path.join(__dirname, "local", "java", "TxnSchema.java");

/** Java 17 for Spark and the metastore (Trino runs on its own newer JDK). */
export function javaBin(): string {
  return path.join(findJava17Home(), "bin", "java");
}

/**
 * The Hive Metastore: the catalog Spark, Hudi's hive sync, Iceberg's HiveCatalog and Trino share.
 */
export class Metastore extends pulumi.ComponentResource {
  /** thrift:// URI for clients on the host. */
  readonly uri: pulumi.Output<string>;
  /** thrift:// URI as the engines reach it. */
  readonly internalUri: pulumi.Output<string>;
  readonly server: pulumi.Resource;

  constructor(name: string, args: MetastoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:Metastore", name, {}, opts);
    validateMetastoreArgs(args);
    const { port = METASTORE_DEFAULTS.port, heap = METASTORE_DEFAULTS.heap } = args;
    this.uri = pulumi.output(`thrift://127.0.0.1:${port}`);

    if (args.runtime === "local") {
      const plan = lakeConnection(args, this.uri).apply((conn) => metastoreLocalPlan(args.dataDir, port, heap, conn));
      this.server = new LocalService(`${name}-server`, plan, { parent: this, dependsOn: args.dependsOn });
      this.internalUri = this.uri;
    } else {
      // On Docker: PostgreSQL for the metastore database, Apache Hive's image in metastore mode.
      const dbPassword = pulumi.secret(args.secretKey);
      const pgImage = new docker.RemoteImage(`${name}-postgres-image`, { name: IMAGES.postgres, keepLocally: true }, { parent: this });
      const pgVolume = new docker.Volume(`${name}-postgres-data`, { name: `${name}-postgres-data` }, { parent: this });
      const pgName = `${name}-postgres`;
      const postgres = new docker.Container(
        pgName,
        {
          name: pgName,
          image: pgImage.imageId,
          restart: "unless-stopped",
          envs: [pulumi.interpolate`POSTGRES_PASSWORD=${dbPassword}`, "POSTGRES_USER=hive", "POSTGRES_DB=metastore"],
          volumes: [{ volumeName: pgVolume.name, containerPath: "/var/lib/postgresql/data" }],
          networksAdvanced: args.network ? [{ name: args.network }] : [],
          healthcheck: dockerHealthcheck("pg_isready -U hive -d metastore", "10s"),
          wait: true,
        },
        { parent: this },
      );
      const hiveImage = new docker.RemoteImage(`${name}-image`, { name: IMAGES.hive, keepLocally: true }, { parent: this });
      const hmsName = `${name}-hms`;
      const conn = lakeConnection(args, `thrift://${hmsName}:9083`);
      this.server = new docker.Container(
        hmsName,
        {
          name: hmsName,
          image: hiveImage.imageId,
          restart: "unless-stopped",
          envs: [
            "SERVICE_NAME=metastore",
            "DB_DRIVER=postgres",
            `HIVE_AUX_JARS_PATH=/opt/lakeform/jars`,
            pulumi.interpolate`SERVICE_OPTS=-Xmx${heap} -Djavax.jdo.option.ConnectionDriverName=org.postgresql.Driver -Djavax.jdo.option.ConnectionURL=jdbc:postgresql://${pgName}:5432/metastore -Djavax.jdo.option.ConnectionUserName=hive -Djavax.jdo.option.ConnectionPassword=${dbPassword}`,
          ],
          uploads: [
            { file: "/opt/hive/conf/core-site.xml", content: conn.apply((c) => renderHadoopXml(s3aSettings(c))) },
          ],
          // hadoop-aws and the AWS SDK bundle, fetched into the host's cache by the same installer.
          volumes: S3A_JARS.map((coord) => {
            const file = installPaths().s3aJars[S3A_JARS.indexOf(coord)];
            return { hostPath: file, containerPath: `/opt/lakeform/jars/${path.basename(file)}`, readOnly: true };
          }),
          ports: [{ internal: 9083, external: port }],
          networksAdvanced: args.network ? [{ name: args.network, aliases: ["metastore"] }] : [],
          healthcheck: dockerHealthcheck("bash -c '</dev/tcp/localhost/9083'", "60s"),
          wait: true,
        },
        { parent: this, dependsOn: [postgres, ...((args.dependsOn as pulumi.Resource[]) ?? [])] },
      );
      this.internalUri = pulumi.output(`thrift://${hmsName}:9083`);
    }
    this.registerOutputs({ uri: this.uri, internalUri: this.internalUri });
  }
}
