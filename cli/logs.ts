/**
 * `lakeform logs [services…] [-f] [--since] [--tail N]`: services' logs from the stack's data
 * directory (`<dataDir>/<service>/logs/<service>.log`); with none named, every service's,
 * interleaved by time (each line prefixed with its service, as compose does). Pino JSON lines are
 * printed pretty on a terminal and as they are when piped; other lines (the engines' own logs)
 * pass through unchanged, placed by the time they start with.
 */
import * as fs from "node:fs";
import { projectDir, stackName, stackSetting } from "../lake/stackData";
import { LakeformError } from "../lake/errors";
import { engineContainer, isEngineService, servicePaths, stackConfigFile } from "../lake/paths";
import { SERVICES } from "./status";

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

const pad2 = (n: number) => String(n).padStart(2, "0");

/**
 * The time an engine's line starts with, in the formats the services write (local time unless
 * the line says): Trino `2026-12-03T05:48:22.032Z`, Python and log4j `2026-12-03 05:47:59,145`,
 * Spark `26/12/03 05:47:58`, SeaweedFS (glog) `I1203 05:49:12.067222`, the metastore `05:37:37.668`
 * (today, or yesterday if that would be ahead of now), the local runtime's "==== lakeform: starting
 * s3 at <ISO time> ====". Pino's JSON lines first. Undefined for a
 * line without one (a stack trace's continuation).
 */
export function engineLineTime(line: string, now = Date.now()): number | undefined {
  const pino = lineTime(line);
  if (pino !== undefined) return pino;
  // The local runtime's own marker when it starts a service: "==== lakeform: starting s3 at <ISO> ====".
  const marker = /^==== lakeform: .* at (\d{4}-\d{2}-\d{2}T[\d:.]+Z) ====$/.exec(line);
  if (marker) return Date.parse(marker[1]);
  const frac = (f: string | undefined) => (f ? `.${f.slice(1, 4).padEnd(3, "0")}` : "");
  let m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})([.,]\d+)?(Z|[+-]\d{2}:?\d{2})?/.exec(line);
  if (m) return Date.parse(`${m[1]}T${m[2]}${frac(m[3])}${m[4] ?? ""}`);
  m = /^(\d{2})\/(\d{2})\/(\d{2}) (\d{2}:\d{2}:\d{2})/.exec(line);
  if (m) return Date.parse(`20${m[1]}-${m[2]}-${m[3]}T${m[4]}`);
  const today = new Date(now);
  const ymd = (d: Date) => `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  m = /^[IWEF](\d{2})(\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?/.exec(line);
  if (m) {
    let t = Date.parse(`${today.getFullYear()}-${m[1]}-${m[2]}T${m[3]}${frac(m[4])}`);
    if (t > now + 60_000) t = Date.parse(`${today.getFullYear() - 1}-${m[1]}-${m[2]}T${m[3]}${frac(m[4])}`);
    return Number.isNaN(t) ? undefined : t;
  }
  m = /^(\d{2}:\d{2}:\d{2})(\.\d+)? \[/.exec(line);
  if (m) {
    let t = Date.parse(`${ymd(today)}T${m[1]}${frac(m[2])}`);
    if (t > now + 60_000) t -= 86_400_000;
    return t;
  }
  return undefined;
}

/** The last n lines of a file, read backwards in blocks (a log of gigabytes is not read whole), and the file's size. */
export function tailLines(file: string, n: number): { lines: string[]; size: number } {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    let pos = size;
    let text = "";
    const block = 64 * 1024;
    // n lines need n line breaks before them (the last byte is usually a line break of its own).
    while (pos > 0 && (text.match(/\n/g)?.length ?? 0) <= n) {
      const len = Math.min(block, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, pos);
      text = buf.toString("utf8") + text;
    }
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    // A block boundary may cut the first line read: only whole lines, unless the file's start was reached.
    return { lines: n === 0 ? [] : lines.slice(pos > 0 ? Math.max(1, lines.length - n) : Math.max(0, lines.length - n)), size };
  } finally {
    fs.closeSync(fd);
  }
}

/** A line with its service and the time it is placed by (a line without one takes the previous line's). */
export interface LogEntry {
  service: string;
  time: number;
  line: string;
}

/** Lines of several services, each in its own order, merged by time (a k-way merge: no service's lines are reordered). */
export function interleave(streams: LogEntry[][]): LogEntry[] {
  const idx = streams.map(() => 0);
  const out: LogEntry[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < streams.length; i++) {
      if (idx[i] >= streams[i].length) continue;
      if (best < 0 || streams[i][idx[i]].time < streams[best][idx[best]].time) best = i;
    }
    if (best < 0) return out;
    out.push(streams[best][idx[best]++]);
  }
}

export interface LogsOptions {
  follow?: boolean;
  since?: string;
  /** Only the last N lines (of all the services shown, after --since). */
  tail?: number;
  /** Pretty (terminal) or JSON lines; default: pretty on a terminal. */
  pretty?: boolean;
}

/** One service's log file, read as it grows. */
class LogFile {
  pos = 0;
  partial = "";
  last = Number.NEGATIVE_INFINITY;
  constructor(
    readonly service: string,
    readonly file: string,
  ) {}

  entries(lines: string[]): LogEntry[] {
    return lines
      .filter((l) => l !== "")
      .map((line) => {
        const t = engineLineTime(line);
        if (t !== undefined && !Number.isNaN(t)) this.last = t;
        return { service: this.service, time: this.last, line };
      });
  }

  /** The lines from the start (or the last `tail` ones), and from then on what was appended. */
  first(tail: number | undefined, follow: boolean): LogEntry[] {
    if (tail !== undefined) {
      const { lines, size } = tailLines(this.file, tail);
      this.pos = size;
      return this.entries(lines);
    }
    // Without -f, a last line not ended yet is shown as it is; with -f it waits for its end.
    return this.more(!follow);
  }

  more(final = false): LogEntry[] {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return []; // moved away: perhaps back on the next look
    }
    if (size < this.pos) this.pos = 0; // truncated or replaced
    const lines: string[] = [];
    if (size > this.pos) {
      const fd = fs.openSync(this.file, "r");
      try {
        const buf = Buffer.alloc(size - this.pos);
        fs.readSync(fd, buf, 0, buf.length, this.pos);
        this.pos = size;
        lines.push(...(this.partial + buf.toString("utf8")).split("\n"));
        this.partial = lines.pop() ?? "";
      } finally {
        fs.closeSync(fd);
      }
    }
    if (final && this.partial) {
      lines.push(this.partial);
      this.partial = "";
    }
    return this.entries(lines);
  }
}

export async function logsCommand(dataDir: string, services: string | string[] | undefined, opts: LogsOptions): Promise<number> {
  const named = services === undefined ? [] : [services].flat();
  const all = named.length === 0;
  const files: LogFile[] = [];
  for (const service of all ? SERVICES : named) {
    const file = servicePaths(dataDir, service).logFile;
    if (fs.existsSync(file)) {
      files.push(new LogFile(service, file));
      continue;
    }
    if (all) continue;
    if (isEngineService(service) && stackSetting("runtime") === "docker") {
      // The engines' logs stay in their containers on the docker runtime.
      const stack = stackName();
      process.stderr.write(`lakeform: on the docker runtime ${service} logs to its container: docker logs ${engineContainer(stack, service, s3Engine(stack))}\n`);
    } else {
      process.stderr.write(`lakeform: no log for ${service} at ${file} (services: ${SERVICES.join(", ")})\n`);
    }
    return 1;
  }
  if (files.length === 0) {
    process.stderr.write(`lakeform: no service has a log under ${dataDir} yet (run: lakeform up)\n`);
    return 1;
  }
  if (opts.tail !== undefined && !(Number.isSafeInteger(opts.tail) && opts.tail >= 0)) throw new LakeformError("BAD_REQUEST", `--tail ${opts.tail}: not a number of lines (0 or more)`);
  const since = opts.since ? parseSince(opts.since) : undefined;
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  let format: (line: string) => string = (l) => l + "\n";
  if (pretty) {
    const { prettyFactory } = await import("pino-pretty");
    const prettify = prettyFactory({ colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" });
    format = (l) => (l.startsWith("{") ? prettify(l) : l + "\n");
  }
  // Several services: each line says whose it is (every line of a pretty entry of several lines).
  const width = Math.max(...files.map((f) => f.service.length));
  const prefix = files.length > 1 ? (e: LogEntry) => `${e.service.padEnd(width)} | ` : () => "";
  const emit = (entries: LogEntry[]) => {
    for (const e of entries) {
      // Lines without a time of their own (an engine's plain text) follow the last timed line's fate.
      if (since !== undefined && !(e.time >= since)) continue;
      const p = prefix(e);
      const text = format(e.line);
      process.stdout.write(p ? text.replace(/\n(?!$)/g, `\n${p}`).replace(/^/, p) : text);
    }
  };
  // --since filters first, --tail then keeps the last lines of what is left; a tail alone reads only the files' ends.
  const firstLook = files.map((f) => f.first(since === undefined ? opts.tail : undefined, Boolean(opts.follow)));
  let merged = interleave(firstLook);
  if (since !== undefined) merged = merged.filter((e) => e.time >= since);
  if (opts.tail !== undefined) merged = opts.tail === 0 ? [] : merged.slice(-opts.tail);
  emit(merged);
  if (!opts.follow) return 0;
  return new Promise<number>(() => {
    setInterval(() => emit(interleave(files.map((f) => f.more()))), 250);
  });
}
