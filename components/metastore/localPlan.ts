/** The Hive Metastore as a local process: pure, args + toolchain → plan. */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { localProcess, serviceDirs } from "../common";
import { metastoreSiteSettings, renderHadoopXml, s3aSettings, type LakeConnection } from "../connection";
import type { ServicePlan } from "../local/providers";
import { requireLocal, type Toolchain } from "../toolchain";

/** Creates the metastore's transaction (lock) tables before it starts; run by the JDK's source launcher. */
export const TXN_SCHEMA_SOURCE = path.join(__dirname, "..", "local", "java", "TxnSchema.java");
/**
 * Serves the metastore (both runtimes): on 127.0.0.1 here (HiveMetaStore.main binds every interface
 * and has no setting for it), with each table entry read and written whole.
 */
export const METASTORE_SERVER_SOURCE = path.join(__dirname, "..", "local", "java", "MetastoreServer.java");

export interface MetastoreLocalArgs {
  dataDir: string;
  port: number;
  heap: string;
}

/** The sha256 of files' contents (the first 16 hex digits). */
export function codeDigest(files: readonly string[]): string {
  const h = crypto.createHash("sha256");
  for (const f of files) h.update(fs.readFileSync(f)).update("\0");
  return h.digest("hex").slice(0, 16);
}

/**
 * Hive 2.3.9's HiveMetaStore from the jars pyspark ships, on embedded Derby, with hadoop-aws on
 * the classpath so s3a:// locations resolve (without it: "S3AFileSystem not found"); its Thrift
 * port bound to 127.0.0.1 by MetastoreServer.java (which also keeps a table entry whole for readers).
 */
export function metastoreLocalPlan(args: MetastoreLocalArgs, tc: Toolchain, conn: LakeConnection): ServicePlan {
  const { dataDir, port, heap } = args;
  const local = requireLocal(tc, "Metastore");
  const bin = local.paths;
  const java = path.join(local.java17Home, "bin", "java");
  const dirs = serviceDirs(dataDir, "metastore");
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
        java,
        `-Xmx${heap}`,
        `-Dderby.system.home=${dirs.data}`,
        `-Dhive.log.dir=${path.dirname(dirs.logFile)}`,
        "-Dhive.log.file=hive.log",
        "-cp",
        classpath,
        METASTORE_SERVER_SOURCE,
        String(port),
      ],
      // The server's own code, so that `up` after a change to it restarts the metastore (its command names only the files).
      env: { LAKEFORM_METASTORE_CODE: codeDigest([TXN_SCHEMA_SOURCE, METASTORE_SERVER_SOURCE]) },
      // Derby's schema is created on first start; give it time on 2 cores.
      health: { tcpPort: port },
      ports: [port],
      startTimeoutSec: 180,
      cwd: dirs.data,
    }),
  };
}
