import * as path from "node:path";
import type { LakeOutputs } from "../cli/stack";
import { JobClient } from "../reconciler/jobClient";
import { s3Client, statusFileFor } from "../reconciler/runtime";
import { Sources } from "../reconciler/sources";
import { Lake } from "./lake";

/** A Lake over a running lakehouse's outputs and a tables.yaml. */
export function createLake(outs: LakeOutputs, tablesFile: string): Lake {
  return new Lake(
    outs,
    new JobClient(outs.sparkJobServer),
    new Sources(s3Client(outs), outs.warehouseBucket),
    path.resolve(tablesFile),
    statusFileFor(outs.dataDir),
  );
}
