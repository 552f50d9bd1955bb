import type { LakeConnection } from "../../../components/connection";
import { SECRET_FIELDS, type DockerPlan } from "../../../components/plans";

/** A resolved connection as the engines would get it; the secret is easy to spot in rendered files. */
export const CONN: LakeConnection = {
  s3Endpoint: "http://127.0.0.1:8333",
  s3Region: "us-east-1",
  accessKey: "lakeformab12cd34ef56",
  secretKey: "s3cr3t-for-plans",
  warehouseBucket: "warehouse",
  metastoreUri: "thrift://127.0.0.1:9083",
};

/** Trino's passwords as the lakehouse would pass them; as easy to spot in rendered files. */
export const TRINO_SECRETS = {
  password: "trino-writer-pass-0123456789",
  readPassword: "trino-reader-pass-0123456789",
  certPem: "-----BEGIN CERTIFICATE-----\nTEST-CERT\n-----END CERTIFICATE-----\n",
  keyPem: "-----BEGIN PRIVATE KEY-----\nTEST-KEY-0123456789\n-----END PRIVATE KEY-----\n",
};

/** A plan with its secret-carrying fields left out: what must not depend on the connection. */
export function shapeOf(plan: DockerPlan): unknown {
  return {
    ...plan,
    containers: plan.containers.map((c) => {
      const rest: Record<string, unknown> = { ...c };
      for (const f of SECRET_FIELDS) delete rest[f];
      return rest;
    }),
  };
}

/** Names of the fields (container.field) whose rendered text contains the secret. */
export function fieldsCarrying(plan: DockerPlan, secret: string): string[] {
  return plan.containers.flatMap((c) =>
    Object.entries(c)
      .filter(([, v]) => JSON.stringify(v).includes(secret))
      .map(([k]) => `${c.name}.${k}`),
  );
}

/** Every name a plan gives an object on the Docker host (containers and volumes). */
export function hostNames(plan: DockerPlan): string[] {
  return [...plan.containers.map((c) => c.hostname), ...plan.volumes.map((v) => v.name)];
}
