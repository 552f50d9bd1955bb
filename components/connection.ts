/**
 * Connection settings: the one source of truth that feeds Spark, the Hive Metastore and Trino.
 * Each engine spells the same facts (endpoint, path-style, credentials, metastore URI) with its
 * own keys; the renderers below are the only place those spellings live, so the three can't
 * disagree. All functions here are pure and tested without the engine.
 */
import { VERSIONS } from "./versions";

export interface LakeConnection {
  /** S3 endpoint as seen by the engines, e.g. http://127.0.0.1:8333. */
  s3Endpoint: string;
  s3Region: string;
  accessKey: string;
  secretKey: string;
  /** Bucket holding the tables. */
  warehouseBucket: string;
  /** thrift://host:port of the Hive Metastore. */
  metastoreUri: string;
  /** Path-style requests (endpoint/bucket/key); false is AWS S3's virtual-hosted style (bucket.endpoint/key). Default true. */
  pathStyle?: boolean;
}

export const DEFAULT_REGION = "us-east-1";

export function warehouseUri(conn: Pick<LakeConnection, "warehouseBucket">, scheme: "s3a" | "s3" = "s3a"): string {
  return `${scheme}://${conn.warehouseBucket}/`;
}

/** Hadoop's S3A settings, shared by Spark (as spark.hadoop.*) and the metastore (core-site.xml). */
export function s3aSettings(conn: LakeConnection): Record<string, string> {
  return {
    "fs.s3a.endpoint": conn.s3Endpoint,
    "fs.s3a.endpoint.region": conn.s3Region,
    "fs.s3a.path.style.access": String(conn.pathStyle ?? true),
    "fs.s3a.connection.ssl.enabled": String(conn.s3Endpoint.startsWith("https:")),
    "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    "fs.s3a.access.key": conn.accessKey,
    "fs.s3a.secret.key": conn.secretKey,
    "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    // s3:// URIs in tables.yaml mean the same bucket through the same client.
    "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    // Single-node S3 servers answer slowly under a burst of small writes: fail fast, retry a few times.
    "fs.s3a.attempts.maximum": "5",
    "fs.s3a.connection.establish.timeout": "5000",
    "fs.s3a.connection.timeout": "60000",
  };
}

/** Hive Metastore settings (hive-site.xml) for a metastore on an embedded Derby database. */
export function metastoreSiteSettings(conn: LakeConnection, derbyDir: string): Record<string, string> {
  return {
    "javax.jdo.option.ConnectionURL": `jdbc:derby:;databaseName=${derbyDir};create=true`,
    "javax.jdo.option.ConnectionDriverName": "org.apache.derby.jdbc.EmbeddedDriver",
    "datanucleus.schema.autoCreateAll": "true",
    "hive.metastore.schema.verification": "false",
    "hive.metastore.warehouse.dir": warehouseUri(conn),
    "hive.metastore.uris": conn.metastoreUri,
    // Hudi's hive sync and Iceberg's HiveCatalog alter tables they created; don't fight over column types.
    "hive.metastore.disallow.incompatible.col.type.changes": "false",
    "hive.metastore.event.db.notification.api.auth": "false",
    // Iceberg's HiveCatalog and Trino take HMS table locks on every commit; the lock tables are
    // created before start by components/local/java/TxnSchema.java.
    "hive.support.concurrency": "true",
    "hive.txn.manager": "org.apache.hadoop.hive.ql.lockmgr.DbTxnManager",
    // Hive's async logging needs the LMAX disruptor, which pyspark's jars don't ship.
    "hive.async.log.enabled": "false",
  };
}

/**
 * spark-defaults for the Lakeform Spark: Hudi (spark_catalog) and Iceberg (catalog `iceberg`)
 * on the same Hive Metastore, S3A against the object store.
 */
export function sparkDefaults(conn: LakeConnection, opts: { driverMemory?: string } = {}): Record<string, string> {
  const conf: Record<string, string> = {
    "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
    "spark.kryo.registrator": "org.apache.spark.HoodieSparkKryoRegistrar",
    "spark.sql.extensions": [
      "org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
      "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
    ].join(","),
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.hudi.catalog.HoodieCatalog",
    "spark.sql.catalogImplementation": "hive",
    "spark.hadoop.hive.metastore.uris": conn.metastoreUri,
    "spark.sql.warehouse.dir": warehouseUri(conn),
    "spark.sql.catalog.iceberg": "org.apache.iceberg.spark.SparkCatalog",
    "spark.sql.catalog.iceberg.type": "hive",
    "spark.sql.catalog.iceberg.uri": conn.metastoreUri,
    "spark.sql.catalog.iceberg.warehouse": warehouseUri(conn),
    // The job server is a long-lived driver and Trino commits to the same tables: without this
    // it reads a cached snapshot list for up to 30 s after someone else's commit.
    "spark.sql.catalog.iceberg.cache-enabled": "false",
    "spark.driver.memory": opts.driverMemory ?? "2g",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    // Commit times are UTC everywhere: Hudi names its instants by the JVM's clock and zone, and
    // time travel by timestamp must mean the same instant to Spark, Trino and the user.
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.hadoop.hoodie.write.table.version": String(VERSIONS.hudiTableVersion),
  };
  for (const [k, v] of Object.entries(s3aSettings(conn))) conf[`spark.hadoop.${k}`] = v;
  return conf;
}

/** Trino's S3 settings for its native file system, shared by all three catalogs. */
export function trinoS3Settings(conn: LakeConnection): Record<string, string> {
  return {
    "fs.native-s3.enabled": "true",
    "s3.endpoint": conn.s3Endpoint,
    "s3.region": conn.s3Region,
    "s3.path-style-access": String(conn.pathStyle ?? true),
    "s3.aws-access-key": conn.accessKey,
    "s3.aws-secret-key": conn.secretKey,
  };
}

/** The catalogs Trino serves: `hive` (redirecting Hudi and Iceberg tables), `hudi` and `iceberg`. */
export function trinoCatalogs(conn: LakeConnection): Record<"hive" | "hudi" | "iceberg", Record<string, string>> {
  const s3 = trinoS3Settings(conn);
  return {
    hive: {
      "connector.name": "hive",
      "hive.metastore.uri": conn.metastoreUri,
      "hive.hudi-catalog-name": "hudi",
      "hive.iceberg-catalog-name": "iceberg",
      "hive.non-managed-table-writes-enabled": "true",
      ...s3,
    },
    hudi: {
      "connector.name": "hudi",
      "hive.metastore.uri": conn.metastoreUri,
      ...s3,
    },
    iceberg: {
      "connector.name": "iceberg",
      "iceberg.catalog.type": "hive_metastore",
      "hive.metastore.uri": conn.metastoreUri,
      "iceberg.file-format": "PARQUET",
      ...s3,
    },
  };
}

/** key=value lines, sorted, as Java .properties and spark-defaults.conf expect. */
export function renderProperties(props: Record<string, string>, sep = "="): string {
  return (
    Object.keys(props)
      .sort()
      .map((k) => `${k}${sep}${props[k]}`)
      .join("\n") + "\n"
  );
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A Hadoop-style configuration XML (core-site.xml, hive-site.xml). */
export function renderHadoopXml(props: Record<string, string>): string {
  const body = Object.keys(props)
    .sort()
    .map((k) => `  <property><name>${xmlEscape(k)}</name><value>${xmlEscape(props[k])}</value></property>`)
    .join("\n");
  return `<?xml version="1.0"?>\n<configuration>\n${body}\n</configuration>\n`;
}
