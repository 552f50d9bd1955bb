/**
 * The Lakeform Pulumi program, as `pulumi up` runs it: the stack's lakehouse, and the outputs
 * clients connect with. `lakeform up` runs the same program through the Automation API.
 */
import { buildLakehouse, stackOutputs } from "./stacks";

const outputs = stackOutputs(buildLakehouse(__dirname));

// One export per key of LakeOutputs (lake/outputs.ts); stackOutputs is typed against it.
export const dataDir = outputs.dataDir;
export const s3Endpoint = outputs.s3Endpoint;
export const s3Region = outputs.s3Region;
export const s3AccessKey = outputs.s3AccessKey;
export const s3SecretKey = outputs.s3SecretKey;
export const warehouseBucket = outputs.warehouseBucket;
export const metastoreUri = outputs.metastoreUri;
export const sparkJobServer = outputs.sparkJobServer;
export const trinoEndpoint = outputs.trinoEndpoint;
export const trinoCertificate = outputs.trinoCertificate;
export const apiToken = outputs.apiToken;
export const apiReadToken = outputs.apiReadToken;
export const trinoPassword = outputs.trinoPassword;
export const trinoReadPassword = outputs.trinoReadPassword;
export const jobServerSecret = outputs.jobServerSecret;
export const s3PathStyle = outputs.s3PathStyle;
export const trinoUser = outputs.trinoUser;
export const trinoReadUser = outputs.trinoReadUser;
export const sparkUi = outputs.sparkUi;
