/**
 * The Lakeform Pulumi program: the stack's lakehouse, and the outputs clients connect with.
 * `pulumi up` runs it directly; `lakeform up` runs the same function through the Automation API.
 */
import { buildLakehouse, stackOutputs } from "./stacks";

export function program(projectDir: string = __dirname) {
  return stackOutputs(buildLakehouse(projectDir));
}

// Under the Pulumi CLI this module is the program itself: its exports become the stack outputs.
const outputs = process.env.LAKEFORM_INLINE ? undefined : program();
export const s3Endpoint = outputs?.s3Endpoint;
export const s3Region = outputs?.s3Region;
export const s3AccessKey = outputs?.s3AccessKey;
export const s3SecretKey = outputs?.s3SecretKey;
export const warehouseBucket = outputs?.warehouseBucket;
export const metastoreUri = outputs?.metastoreUri;
export const sparkJobServer = outputs?.sparkJobServer;
export const trinoEndpoint = outputs?.trinoEndpoint;
