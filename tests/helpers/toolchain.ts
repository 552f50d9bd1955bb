/**
 * A toolchain as a plain object: what plans are built from in unit tests, on any machine (no JDK,
 * no cache, no virtualenv needed). The paths are made up and never touched.
 */
import { installPaths } from "../../components/local/install";
import type { Toolchain } from "../../components/toolchain";

export function testToolchain(overrides: Partial<Toolchain> = {}): Toolchain {
  return {
    local: {
      paths: installPaths("/opt/test-cache", "3.12"),
      java17Home: "/opt/test-jdk-17",
      trinoJavaHome: "/opt/test-jdk-25",
    },
    cache: "/opt/test-cache",
    jobs: { dir: "/opt/test-repo/jobs", entry: "/opt/test-repo/jobs/job_server.py", sha256: "f".repeat(64) },
    imagesDir: "/opt/test-repo/images",
    images: Object.fromEntries(
      (["spark", "metastore", "trino", "seaweedfs", "minio"] as const).map((n, i) => [
        n,
        { dir: `/opt/test-cache/docker/context/${n}`, hash: `${i}`.repeat(64), base: n === "trino" ? "debian:trixie-slim" : "debian:bookworm-slim" },
      ]),
    ),
    ...overrides,
  };
}
