/**
 * The stack outputs (declared in outputKeys.ts) and what is built from them: the S3 client, the
 * reconciler's status file.
 */
import { S3Client } from "@aws-sdk/client-s3";
import type { LakeEndpoints } from "./outputKeys";

export { OPTIONAL_OUTPUT_KEYS, OUTPUT_KEYS, toLakeOutputs, type LakeEndpoints, type LakeOutputs } from "./outputKeys";
export { statusFileFor } from "./stackData";

export function s3Client(lake: Pick<LakeEndpoints, "s3Endpoint" | "s3Region" | "s3AccessKey" | "s3SecretKey" | "s3PathStyle">): S3Client {
  return new S3Client({
    endpoint: lake.s3Endpoint,
    region: lake.s3Region,
    // Path-style unless the stack says otherwise (an external AWS S3 bucket: virtual-hosted style).
    forcePathStyle: lake.s3PathStyle !== "false",
    credentials: { accessKeyId: lake.s3AccessKey, secretAccessKey: lake.s3SecretKey },
  });
}
