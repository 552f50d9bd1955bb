/**
 * The toolchain: everything the component plans need to know about the machine (where the
 * registries' downloads are installed, the virtualenv's Python version, the Java homes, the hash
 * of the job program). The plans themselves are pure functions of their args and a Toolchain;
 * `readToolchain` is the one place that reads the machine, called once at the edge (stacks/), so
 * unit tests build plans from a plain object on any machine, with or without a JDK 25.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Runtime } from "./common";
import { cacheDir, findJava17Home, findTrinoJavaHome, machineInstallPaths, type InstallPaths } from "./local/install";

/** What the local runtime runs from: the installs in the cache and the Java homes. */
export interface LocalToolchain {
  /** Where the installs live (pyspark's virtualenv, jars, Trino, MinIO). */
  paths: InstallPaths;
  /** Java 17 for Spark and the metastore. */
  java17Home: string;
  /** A JDK >= 24 for Trino 476. */
  trinoJavaHome: string;
}

export interface Toolchain {
  /** The local runtime's installs and Java homes; absent on the docker runtime, which needs neither. */
  local?: LocalToolchain;
  /** The cache the installers fill (~/.cache/lakeform unless LAKEFORM_CACHE says otherwise). */
  cache: string;
  /** The job program: its directory (the whole tree goes into the image / onto the server) and its hash. */
  jobs: { dir: string; entry: string; sha256: string };
  /** The repository's directory of Dockerfiles, one folder per image. */
  imagesDir: string;
  /** docker: each of Lakeform's images as a staged build context (images/context.ts); absent on local. */
  images?: Partial<Record<LakeformImageName, StagedImage>>;
}

export type LakeformImageName = "spark" | "metastore" | "trino" | "seaweedfs" | "minio";

export interface StagedImage {
  /** The build context directory (holds the Dockerfile). */
  dir: string;
  /** Content hash of the context: the image's tag, so a changed Dockerfile or job program rebuilds. */
  hash: string;
  /** The Debian base it builds FROM (the Dockerfile's BASE build argument). */
  base: string;
}

const ROOT = path.resolve(__dirname, "..");

/** The job server's directory and entry script, as spark-submit runs it. */
export const JOBS_DIR = path.join(ROOT, "jobs");
export const JOB_SERVER_SCRIPT = path.join(JOBS_DIR, "job_server.py");

/** Files under jobs/ that are build leftovers, not program: they never change the hash. */
const NOT_PROGRAM = /(^|\/)(__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|[^/]*\.egg-info)(\/|$)|\.py[co]$/;

/** Every file of a directory tree, as sorted paths relative to it (build leftovers left out). */
export function programFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (NOT_PROGRAM.test(r)) continue;
      if (entry.isDirectory()) walk(r);
      else if (entry.isFile()) out.push(r);
    }
  };
  walk("");
  return out.sort();
}

/**
 * Hash of the whole job program tree (jobs/, its package and data files included), so a change to
 * any of it restarts the local server and rebuilds the Spark image on `up`.
 */
export function treeHash(dir: string): string {
  const h = crypto.createHash("sha256");
  for (const f of programFiles(dir)) h.update(f).update("\0").update(fs.readFileSync(path.join(dir, f))).update("\0");
  return h.digest("hex");
}

/**
 * Reads the machine once. The docker runtime needs no Java on the host: instead each image it runs
 * is staged as a build context (from what `scripts/setup.sh` cached), and its hash names the image.
 */
export function readToolchain(runtime: Runtime, opts: { objectStore?: "seaweedfs" | "minio" } = {}): Toolchain {
  const tc: Toolchain = {
    local: runtime === "local" ? { paths: machineInstallPaths(), java17Home: findJava17Home(), trinoJavaHome: findTrinoJavaHome() } : undefined,
    cache: cacheDir(),
    jobs: { dir: JOBS_DIR, entry: JOB_SERVER_SCRIPT, sha256: treeHash(JOBS_DIR) },
    imagesDir: path.join(ROOT, "images"),
  };
  if (runtime === "docker") {
    // images/context.ts stages each image's context from the cache; loaded only here, since the
    // local runtime never needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { stageImageContext } = require(path.join(ROOT, "images", "context")) as {
      stageImageContext(name: LakeformImageName): StagedImage;
    };
    const names: LakeformImageName[] = ["spark", "metastore", "trino", opts.objectStore ?? "seaweedfs"];
    tc.images = Object.fromEntries(
      names.map((n) => {
        const ctx = stageImageContext(n);
        return [n, { dir: ctx.dir, hash: ctx.hash, base: ctx.base }];
      }),
    );
  }
  return tc;
}

/** The local part of the toolchain, or a clear error when a local plan is asked for without it. */
export function requireLocal(tc: Toolchain, component: string): LocalToolchain {
  if (!tc.local) throw new Error(`${component}: the local runtime needs the toolchain's installs and Java homes (readToolchain("local"))`);
  return tc.local;
}
