/**
 * `lakeform logs [service] [-f] [--since]`: a service's log from the stack's data directory
 * (`<dataDir>/<service>/logs/<service>.log`). Pino JSON lines are printed pretty on a terminal and
 * as they are when piped; other lines (the engines' own logs) pass through unchanged.
 */
import * as fs from "node:fs";
import { projectDir, stackName, stackSetting } from "../lake/stackData";
import { LakeformError } from "../lake/errors";
import { engineContainer, isEngineService, servicePaths, stackConfigFile } from "../lake/paths";

/** The object store's engine, as the stack's config names it (any `engine: minio` in it). */
function s3Engine(stack: string): "minio" | "seaweedfs" {
  let text = "";
  try {
    text = fs.readFileSync(stackConfigFile(projectDir(), stack), "utf8");
  } catch {
    // no config file: the default engine
  }
  return /engine:\s*["']?minio/.test(text) ? "minio" : "seaweedfs";
}

/** `--since`: a duration back from now (`30s`, `10m`, `2h`, `1d`) or an ISO-8601 time. */
export function parseSince(since: string, now = Date.now()): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(since.trim());
  if (m) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
    return now - Number(m[1]) * unit;
  }
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new LakeformError("BAD_REQUEST", `--since ${since}: not a duration (30s, 10m, 2h, 1d) or an ISO-8601 time`);
  return t;
}

/** The time of a log line: pino's `time` (epoch ms), or undefined for lines that aren't pino JSON. */
export function lineTime(line: string): number | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const t = (JSON.parse(line) as { time?: unknown }).time;
    return typeof t === "number" ? t : typeof t === "string" ? Date.parse(t) : undefined;
  } catch {
    return undefined;
  }
}

export interface LogsOptions {
  follow?: boolean;
  since?: string;
  /** Pretty (terminal) or JSON lines; default: pretty on a terminal. */
  pretty?: boolean;
}

export async function logsCommand(dataDir: string, service: string, opts: LogsOptions): Promise<number> {
  const file = servicePaths(dataDir, service).logFile;
  if (!fs.existsSync(file)) {
    if (isEngineService(service) && stackSetting("runtime") === "docker") {
      // The engines' logs stay in their containers on the docker runtime.
      const stack = stackName();
      process.stderr.write(`lakeform: on the docker runtime ${service} logs to its container: docker logs ${engineContainer(stack, service, s3Engine(stack))}\n`);
    } else {
      process.stderr.write(`lakeform: no log for ${service} at ${file} (services: s3, metastore, spark, trino, reconciler, api)\n`);
    }
    return 1;
  }
  const since = opts.since ? parseSince(opts.since) : undefined;
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  let format: (line: string) => string = (l) => l + "\n";
  if (pretty) {
    const { prettyFactory } = await import("pino-pretty");
    const prettify = prettyFactory({ colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" });
    format = (l) => (l.startsWith("{") ? prettify(l) : l + "\n");
  }
  // Lines without a time of their own (an engine's plain text) follow the last timed line's fate.
  let keep = since === undefined;
  const emit = (line: string) => {
    if (line === "") return;
    if (since !== undefined) {
      const t = lineTime(line);
      if (t !== undefined) keep = t >= since;
    }
    if (keep) process.stdout.write(format(line));
  };

  let pos = 0;
  let partial = "";
  const readMore = () => {
    const size = fs.statSync(file).size;
    if (size < pos) pos = 0; // truncated or replaced
    if (size === pos) return;
    const fd = fs.openSync(file, "r");
    try {
      const buf = Buffer.alloc(size - pos);
      fs.readSync(fd, buf, 0, buf.length, pos);
      pos = size;
      const lines = (partial + buf.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) emit(l);
    } finally {
      fs.closeSync(fd);
    }
  };
  readMore();
  if (!opts.follow) {
    emit(partial);
    return 0;
  }
  return new Promise<number>(() => {
    setInterval(readMore, 250);
  });
}
