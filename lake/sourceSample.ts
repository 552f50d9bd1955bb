/**
 * The first bytes of a declared source (a local file or an s3:// object), for `lakeform plan`'s
 * estimates: one ranged read, never the whole source.
 */
import * as fs from "node:fs/promises";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { SourceSample } from "../reconciler/dataPlan";
import { parseS3Uri, SourceError, type ResolvedSource } from "./sources";

/** What the plan reads of each source: enough rows for an estimate, little enough to read at once. */
export const PLAN_SAMPLE_BYTES = 1024 * 1024;

export async function readSample(s3: S3Client, src: ResolvedSource, maxBytes = PLAN_SAMPLE_BYTES): Promise<SourceSample> {
  const want = Math.min(maxBytes, src.bytes);
  if (want === 0) return { head: Buffer.alloc(0), whole: true };
  try {
    let head: Buffer;
    if (src.location.startsWith("s3://")) {
      const { bucket, key } = parseS3Uri(src.location);
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${want - 1}` }));
      head = Buffer.from(await obj.Body!.transformToByteArray());
    } else {
      const fh = await fs.open(src.location, "r");
      try {
        const buf = Buffer.alloc(want);
        const { bytesRead } = await fh.read(buf, 0, want, 0);
        head = buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    }
    return { head, whole: head.length >= src.bytes };
  } catch (err) {
    throw new SourceError(src.declared, `can't be sampled: ${(err as Error).message}`, { cause: err });
  }
}
