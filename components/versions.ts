/**
 * The version matrix, in one place. Every runtime (local processes, Docker images) and every
 * config renderer reads from here, so Spark, the metastore and Trino can't drift apart.
 *
 * Why these versions (see README.md, "How the pieces are obtained"):
 * - Spark 3.5.5 from PyPI ships Hadoop 3.3.4 client jars and Hive 2.3.9, so hadoop-aws must be 3.3.4.
 * - Hudi 1.0.2 writes a table version that Trino 476's Hudi connector (built on Hudi 1.0.2) reads;
 *   Hudi >= 1.1 writes version 9 by default, which it can't.
 * - Trino 476 is the last release published to Maven Central; it needs JDK >= 24.
 * - The Hive Metastore must stay below 4.0.1, which dropped the Thrift get_table call that
 *   Spark 3.5, Iceberg's HiveCatalog and Hudi's hive sync still use.
 */
export const VERSIONS = {
  spark: "3.5.5",
  scala: "2.12",
  hudi: "1.0.2",
  /** Hudi table version written; Trino 476 reads 6 and 8. */
  hudiTableVersion: 6,
  iceberg: "1.10.0",
  icebergFormatVersion: 2,
  hadoop: "3.3.4",
  awsSdkBundle: "1.12.262",
  hive: "2.3.9",
  trino: "476",
  seaweedfs: "4.48",
  /** MinIO's repository was archived in Feb 2026: pinned to its last commit's pseudo-version. */
  minio: "v0.0.0-20260212201848-7aac2a2c5b7c",
} as const;

/** Maven coordinates of the jars Spark (and the metastore, for s3a://) need on their classpath. */
export const SPARK_JARS = [
  `org.apache.hudi:hudi-spark3.5-bundle_${VERSIONS.scala}:${VERSIONS.hudi}`,
  `org.apache.iceberg:iceberg-spark-runtime-3.5_${VERSIONS.scala}:${VERSIONS.iceberg}`,
  `org.apache.hadoop:hadoop-aws:${VERSIONS.hadoop}`,
  `com.amazonaws:aws-java-sdk-bundle:${VERSIONS.awsSdkBundle}`,
] as const;

export const S3A_JARS = SPARK_JARS.slice(2);

/** Container images for the docker runtime, pinned by tag. */
export const IMAGES = {
  minio: "minio/minio:RELEASE.2025-04-22T22-12-26Z",
  seaweedfs: `chrislusf/seaweedfs:${VERSIONS.seaweedfs}`,
  postgres: "postgres:16.4",
  /** No 2.3.9 image exists; 3.1.3 still serves the Thrift get_table call (4.0.1+ does not). */
  hive: "apache/hive:3.1.3",
  spark: `apache/spark:${VERSIONS.spark}-scala2.12-java17-python3-ubuntu`,
  trino: `trinodb/trino:${VERSIONS.trino}`,
} as const;
