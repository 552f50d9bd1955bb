/**
 * Builds Lakeform's images with the docker CLI, outside Pulumi: for tests, CI's image check and
 * people trying a Dockerfile. The Pulumi program builds the same contexts with @pulumi/docker.
 *
 *   tsx images/build.ts [name...]      (default: all; prints tag, seconds and size per image)
 *   LAKEFORM_BUILD_NO_CACHE=1 builds every step again (a cold build but for the base image);
 *   LAKEFORM_BUILD_VERBOSE=1 shows docker's output.
 *
 * Tags: lakeform/<name>:<first 16 hex of the context hash>, plus lakeform/<name>:latest.
 * Needs a Docker Engine and the base images: `bash scripts/docker-engine.sh`.
 */
import { spawn } from "node:child_process";
import { IMAGE_NAMES, stageImageContext, type ImageContext, type ImageName, type StageOptions } from "./context";

export interface BuiltImage extends ImageContext {
  tag: string;
  /** Wall-clock seconds of `docker build` (a warm build is a cache hit on every step). */
  seconds: number;
  /** Uncompressed size as the engine reports it, bytes. */
  sizeBytes: number;
}

export function imageTag(ctx: ImageContext): string {
  return `lakeform/${ctx.name}:${ctx.hash.slice(0, 16)}`;
}

function docker(args: string[], opts: { quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (!opts.quiet) process.stderr.write(d);
    });
    child.stderr.on("data", (d) => {
      err += d;
      if (!opts.quiet) process.stderr.write(d);
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`docker ${args.slice(0, 2).join(" ")} failed (exit ${code}): ${(err || out).trim().split("\n").slice(-15).join("\n")}`)),
    );
  });
}

export async function buildImage(name: ImageName, opts: StageOptions & { quiet?: boolean; base?: string; noCache?: boolean } = {}): Promise<BuiltImage> {
  const ctx = stageImageContext(name, opts);
  const tag = imageTag(ctx);
  const started = Date.now();
  await docker(["build", ...(opts.noCache ? ["--no-cache"] : []), "--build-arg", `BASE=${opts.base ?? ctx.base}`, "-t", tag, "-t", `lakeform/${name}:latest`, ctx.dir], { quiet: opts.quiet ?? true });
  const seconds = (Date.now() - started) / 1000;
  const sizeBytes = Number((await docker(["image", "inspect", "--format", "{{.Size}}", tag], { quiet: true })).trim());
  return { ...ctx, tag, seconds, sizeBytes };
}

async function main(): Promise<void> {
  const names = (process.argv.slice(2).length ? process.argv.slice(2) : [...IMAGE_NAMES]) as ImageName[];
  for (const n of names) {
    if (!(IMAGE_NAMES as readonly string[]).includes(n)) throw new Error(`unknown image ${n} (one of ${IMAGE_NAMES.join(", ")})`);
  }
  for (const n of names) {
    process.stderr.write(`[lakeform images] building ${n}\n`);
    const b = await buildImage(n, { quiet: process.env.LAKEFORM_BUILD_VERBOSE !== "1", noCache: process.env.LAKEFORM_BUILD_NO_CACHE === "1" });
    console.log(`${b.tag}\t${b.seconds.toFixed(1)}s\t${(b.sizeBytes / 1e6).toFixed(0)} MB\t${b.dir}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`[lakeform images] ${(err as Error).message}\n`);
    process.exit(1);
  });
}
