/**
 * Build contexts for Lakeform's images: each images/<name>/Dockerfile COPYs what `scripts/setup.sh`
 * already cached on the host (pyspark, the jars, the Trino tree, `weed`, `minio`), so a build
 * needs no network beyond Debian's mirror (inside containers here, HTTPS to the other registries
 * fails certificate checks; on a user's host the same Dockerfiles build the same way).
 *
 * `stageImageContext(name)` assembles images/<name>/ + images/healthcheck.sh + the cached files
 * under stage/ into a directory outside git, ~/.cache/lakeform/docker/context/<name>-<hash>, and
 * returns it with a content hash: the same inputs give the same directory (staged once, reused),
 * changed inputs (a Dockerfile, a job program, a cached version) a new one. Big cached files are
 * hard-linked when the cache and the context share a file system, so staging costs seconds.
 *
 * Nothing here imports Pulumi: the Pulumi program (components/) calls it, and so do the tests.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { cacheDir, installPaths, readPythonVersion, TRINO_PLUGINS, type InstallTarget } from "../components/local/install";

export const IMAGE_NAMES = ["spark", "metastore", "trino", "seaweedfs", "minio"] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

/** The Debian base each image builds FROM by default (the Dockerfile's BASE build argument). */
export const IMAGE_BASES: Record<ImageName, string> = {
  spark: "debian:bookworm-slim",
  metastore: "debian:bookworm-slim",
  // Trino 476 needs a JDK >= 24: trixie carries openjdk-25.
  trino: "debian:trixie-slim",
  seaweedfs: "debian:bookworm-slim",
  minio: "debian:bookworm-slim",
};

/** What `ensureInstalled` must have put in the cache before an image's context can be staged. */
export const IMAGE_INSTALL: Record<ImageName, InstallTarget[]> = {
  spark: ["python", "jars"],
  metastore: ["python", "jars"],
  trino: ["trino"],
  seaweedfs: ["python"],
  minio: ["minio"],
};

/** The local runtime's transaction-table helper; the metastore image compiles the same source. */
const TXN_SCHEMA_JAVA = path.join(__dirname, "..", "components", "local", "java", "TxnSchema.java");
/** The server both runtimes run the metastore through (table entries read and written whole). */
const METASTORE_SERVER_JAVA = path.join(__dirname, "..", "components", "local", "java", "MetastoreServer.java");

/**
 * pyspark's jars the metastore never loads (Spark itself, Scala, ML, cluster managers): left out
 * of the metastore image. What remains is Hive 2.3.9, Hadoop 3.3.4's client, DataNucleus, Derby
 * and their dependencies, the classpath the local runtime's metastore runs on.
 */
const SPARK_ONLY_JARS = [
  /^spark-/,
  /^scala-/,
  /^breeze/,
  /^spire/,
  /^cats-kernel/,
  /^algebra/,
  /^rocksdbjni-/,
  /^mesos-/,
  /^kubernetes-/,
  /^arpack/,
  /^blas-/,
  /^lapack-/,
  /^py4j-/,
  /^pmml-/,
  /^json4s-/,
  /^chill/,
  /^jpmml/,
  /^arrow-/,
  /^zookeeper/,
  /^curator-/,
];

export interface ImageContext {
  name: ImageName;
  /** The build context directory (holds the Dockerfile). */
  dir: string;
  /** Hex digest of everything in the context: tag or trigger rebuilds with it. */
  hash: string;
  /** The default BASE build argument. */
  base: string;
}

export interface StageOptions {
  /** Where contexts go (default: <cache>/docker/context). */
  outDir?: string;
  /** The Lakeform checkout whose images/ and jobs/ are staged (default: this one). */
  repoRoot?: string;
  /** The set-up cache (default: LAKEFORM_CACHE or ~/.cache/lakeform). */
  cache?: string;
}

/** One file of a context: where it goes, where it comes from, and whether to hash its bytes. */
interface Entry {
  rel: string;
  src: string;
  /** Repository files are hashed by content; cached artifacts (versioned by name) by path + size. */
  content: boolean;
}

export class StageError extends Error {}

function walk(src: string, rel: string, content: boolean, out: Entry[], skip: (name: string) => boolean = () => false): void {
  const st = fs.statSync(src);
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(src).sort()) {
      if (skip(name)) continue;
      walk(path.join(src, name), path.posix.join(rel, name), content, out, skip);
    }
  } else if (st.isFile()) {
    out.push({ rel, src, content });
  }
}

const PY_JUNK = (name: string) => name === "__pycache__" || name === ".pytest_cache" || name.endsWith(".pyc");

function need(file: string, target: InstallTarget): string {
  if (!fs.existsSync(file)) {
    throw new StageError(`images: ${file} is missing; run \`bash scripts/setup.sh ${target}\` first (it caches what the images are built from)`);
  }
  return file;
}

function cachePaths(opts: StageOptions) {
  const cache = opts.cache ?? cacheDir();
  return installPaths(cache, readPythonVersion(cache));
}

/** The files of one image's context (no copying yet). */
export function contextEntries(name: ImageName, opts: StageOptions = {}): Entry[] {
  const root = opts.repoRoot ?? path.resolve(__dirname, "..");
  const p = cachePaths(opts);
  const imageDir = path.join(root, "images", name);
  if (!fs.existsSync(path.join(imageDir, "Dockerfile"))) throw new StageError(`images: no Dockerfile in ${imageDir}`);
  const out: Entry[] = [];
  walk(imageDir, "", true, out);
  out.push({ rel: "healthcheck.sh", src: path.join(root, "images", "healthcheck.sh"), content: true });
  const sitePackages = path.dirname(p.sparkHome);
  switch (name) {
    case "spark": {
      walk(need(p.sparkHome, "python"), "stage/python/pyspark", false, out, PY_JUNK);
      walk(need(path.join(sitePackages, "py4j"), "python"), "stage/python/py4j", false, out, PY_JUNK);
      for (const jar of p.jars) out.push({ rel: `stage/jars/${path.basename(jar)}`, src: need(jar, "jars"), content: false });
      walk(path.join(root, "jobs"), "jobs", true, out, (n) => PY_JUNK(n) || n === ".venv");
      break;
    }
    case "metastore": {
      const jarsDir = need(p.sparkJarsDir, "python");
      for (const jar of fs.readdirSync(jarsDir).sort()) {
        if (!jar.endsWith(".jar") || SPARK_ONLY_JARS.some((re) => re.test(jar))) continue;
        out.push({ rel: `stage/hive-jars/${jar}`, src: path.join(jarsDir, jar), content: false });
      }
      for (const jar of p.s3aJars) out.push({ rel: `stage/jars/${path.basename(jar)}`, src: need(jar, "jars"), content: false });
      out.push({ rel: "TxnSchema.java", src: need(TXN_SCHEMA_JAVA, "python"), content: true });
      out.push({ rel: "MetastoreServer.java", src: need(METASTORE_SERVER_JAVA, "python"), content: true });
      break;
    }
    case "trino": {
      const home = need(path.join(p.trinoHome, "bin", "launcher"), "trino") && p.trinoHome;
      for (const f of ["NOTICE", "bin/launcher", "bin/launcher.properties"]) {
        out.push({ rel: `stage/trino/${f}`, src: path.join(home, f), content: false });
      }
      // Linux launchers only (the tree carries macOS ones too).
      for (const d of fs.readdirSync(path.join(home, "bin")).filter((d) => d.startsWith("linux-"))) {
        walk(path.join(home, "bin", d), `stage/trino/bin/${d}`, false, out);
      }
      walk(path.join(home, "lib"), "stage/trino/lib", false, out);
      for (const plugin of TRINO_PLUGINS) walk(need(path.join(home, "plugin", plugin), "trino"), `stage/trino/plugin/${plugin}`, false, out);
      break;
    }
    case "seaweedfs":
      out.push({ rel: "stage/weed", src: need(p.weed, "python"), content: false });
      break;
    case "minio":
      out.push({ rel: "stage/minio", src: need(p.minio, "minio"), content: false });
      break;
  }
  return out;
}

function hashEntries(entries: Entry[]): string {
  const h = crypto.createHash("sha256");
  for (const e of [...entries].sort((a, b) => (a.rel < b.rel ? -1 : 1))) {
    const st = fs.statSync(e.src);
    h.update(`${e.rel}\0${st.mode & 0o111 ? "x" : "-"}\0`);
    if (e.content) h.update(fs.readFileSync(e.src));
    else h.update(`${st.size}`);
    h.update("\0");
  }
  return h.digest("hex");
}

function place(e: Entry, dir: string): void {
  const dest = path.join(dir, e.rel);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  if (!e.content) {
    try {
      fs.linkSync(e.src, dest);
      return;
    } catch {
      // another file system: copy
    }
  }
  fs.copyFileSync(e.src, dest);
  fs.chmodSync(dest, fs.statSync(e.src).mode & 0o777);
}

const MARKER = ".lakeform-context";

/** Stages one image's build context (reusing an identical one) and returns where it is. */
export function stageImageContext(name: ImageName, opts: StageOptions = {}): ImageContext {
  const entries = contextEntries(name, opts);
  const hash = hashEntries(entries);
  const outDir = opts.outDir ?? path.join(opts.cache ?? cacheDir(), "docker", "context");
  const dir = path.join(outDir, `${name}-${hash.slice(0, 16)}`);
  const ctx: ImageContext = { name, dir, hash, base: IMAGE_BASES[name] };
  if (fs.existsSync(path.join(dir, MARKER))) return ctx;
  // Staged beside the target and renamed into place, so a context is complete or absent, and two
  // processes staging the same one at once both end with it.
  const tmp = `${dir}.partial-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
  fs.mkdirSync(tmp, { recursive: true });
  try {
    for (const e of entries) place(e, tmp);
    fs.writeFileSync(path.join(tmp, MARKER), `${hash}\n`);
    fs.writeFileSync(path.join(tmp, ".dockerignore"), `${MARKER}\n`);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      if (!fs.existsSync(path.join(dir, MARKER))) throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return ctx;
}
