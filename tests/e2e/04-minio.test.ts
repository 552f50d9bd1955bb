/**
 * The other S3 engine: MinIO (built from the Go module proxy), behind the same ObjectStore
 * component, on a stack of its own. Up, a real S3 round trip (and none without keys, no console),
 * a no-op second up, destroy.
 */
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { PROJECT_DIR } from "../../stacks/automation";
import { portOpen } from "../../components/local/process";
import { GeneratedCredentials } from "../../components/local/providers";
import { ObjectStore } from "../../components/objectStore";
import { readToolchain } from "../../components/toolchain";

const PORT = 19400;
let stack: Stack;

beforeAll(async () => {
  const dataDir = path.join(os.tmpdir(), `lakeform-minio-${Date.now().toString(36)}`);
  stack = await LocalWorkspace.createOrSelectStack(
    {
      stackName: "e2e-minio",
      projectName: "lakeform",
      program: async () => {
        const creds = new GeneratedCredentials("minio-credentials", { prefix: "lakeform" });
        const store = new ObjectStore("minio", {
          runtime: "local", engine: "minio", port: PORT, dataDir,
          accessKey: creds.accessKey, secretKey: creds.secretKey, buckets: ["warehouse"], toolchain: readToolchain("local"),
        });
        return { endpoint: store.endpoint, accessKey: store.accessKey, secretKey: pulumi.secret(store.secretKey) };
      },
    },
    { workDir: PROJECT_DIR },
  );
});

afterAll(async () => {
  await stack?.destroy();
});

test("MinIO serves S3 with the generated credentials, and a second up changes nothing", async () => {
  const up = await stack.up();
  const outs = up.outputs;
  const s3 = new S3Client({
    endpoint: outs.endpoint.value, region: "us-east-1", forcePathStyle: true,
    credentials: { accessKeyId: outs.accessKey.value, secretAccessKey: outs.secretKey.value },
  });
  await s3.send(new PutObjectCommand({ Bucket: "warehouse", Key: "probe.txt", Body: "minio works" }));
  const got = await s3.send(new GetObjectCommand({ Bucket: "warehouse", Key: "probe.txt" }));
  expect(await got.Body?.transformToString()).toBe("minio works");
  // S3 only: without keys the object is refused, and the console (MINIO_BROWSER=off) doesn't listen.
  const anonymous = await fetch(`${outs.endpoint.value}/warehouse/probe.txt`);
  expect(anonymous.status).toBe(403);
  expect(await anonymous.text()).not.toContain("minio works");
  expect(await portOpen(PORT + 1)).toBe(false);
  const again = await stack.up();
  expect(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
});

test("destroy stops MinIO and frees its ports", async () => {
  await stack.destroy();
  expect(await portOpen(PORT)).toBe(false);
  expect(await portOpen(PORT + 1)).toBe(false);
});
