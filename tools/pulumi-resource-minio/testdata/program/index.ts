// The integration test's program: the warehouse bucket as Lakeform declares it, through an
// explicit minio provider. Config: server (127.0.0.1:port), user, password (secret), bucket.
import * as minio from "@pulumi/minio";
import * as pulumi from "@pulumi/pulumi";

const cfg = new pulumi.Config();
const provider = new minio.Provider("s3", {
  minioServer: cfg.require("server"),
  minioUser: cfg.require("user"),
  minioPassword: cfg.requireSecret("password"),
  minioRegion: "us-east-1",
  minioSsl: false,
});
const bucket = new minio.S3Bucket("warehouse", { bucket: cfg.require("bucket"), forceDestroy: true }, { provider });

export const bucketName = bucket.bucket;
export const arn = bucket.arn;
export const domain = bucket.bucketDomainName;
