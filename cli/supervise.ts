/**
 * `lakeform supervise`: keeps one service process running. The local runtime starts the
 * reconciler and the API under it (components/services): when the process dies, for whatever
 * reason (a crash, `kill -9`), it is started again within a second or two, backing off when it
 * keeps dying right after start. SIGTERM/SIGINT stop the process and then the supervisor.
 *
 * A process left behind by the one that died (a JVM its launcher started, the Python driver of a
 * spark-submit) would keep its ports and block the next start: before each restart, every
 * process carrying this service's marker (LAKEFORM_SERVICE, which the local runtime gives the
 * supervisor and so everything it starts) but the supervisor itself is killed.
 *
 * Its own lines go to the same log as the service's, as pino-shaped JSON, so `lakeform logs`
 * shows restarts among the service's own lines.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { pidAlive, writeFileAtomic } from "../lake/files";
import { processesMarked } from "../lake/processes";
import { RotatingLog, type RotationOptions } from "../lake/rotatingLog";
import type { SupervisorState } from "./status";

export interface SuperviseOptions {
  service: string;
  stateFile: string;
  command: string[];
  /** First restart delay; doubles while the process dies within `stableMs` of its start. */
  minDelayMs?: number;
  maxDelayMs?: number;
  stableMs?: number;
  /**
   * The service's log, rotated by size (lake/rotatingLog.ts): the process's output and the
   * supervisor's own lines go there through the supervisor. Without it both go to the
   * supervisor's stdout and stderr, as for the reconciler and the API.
   */
  log?: { file: string } & RotationOptions;
}

const LEVELS = { info: 30, warn: 40, error: 50 } as const;

/** Where the supervisor's own lines go: the rotated log when it keeps one, else stderr. */
let out: { write(chunk: string): unknown } = process.stderr;

function logLine(service: string, level: keyof typeof LEVELS, msg: string, extra: Record<string, unknown> = {}): void {
  out.write(JSON.stringify({ level: LEVELS[level], time: Date.now(), pid: process.pid, name: "supervisor", service, ...extra, msg }) + "\n");
}

/** Found by their marker (lake/processes.ts), shared with the local runtime. */
export { processesMarked };

/** Kills what the dead process left behind (SIGKILL) and waits up to 10 s for it to be gone. */
async function reapLeftovers(service: string): Promise<void> {
  const value = process.env.LAKEFORM_SERVICE;
  if (!value) return;
  const left = processesMarked(`LAKEFORM_SERVICE=${value}`);
  if (left.length === 0) return;
  logLine(service, "warn", `Killing what ${service} left running`, { pids: left });
  for (const pid of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 10_000;
  while (left.some((p) => pidAlive(p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

export function supervise(opts: SuperviseOptions): Promise<number> {
  const minDelay = opts.minDelayMs ?? 1000;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  const stableMs = opts.stableMs ?? 30_000;
  const state: SupervisorState = { service: opts.service, restarts: 0, updatedAt: new Date().toISOString() };
  const save = () => {
    state.updatedAt = new Date().toISOString();
    writeFileAtomic(opts.stateFile, JSON.stringify(state) + "\n");
  };
  const log = opts.log ? new RotatingLog(opts.log.file, opts.log) : undefined;
  if (log) out = log;
  let child: ChildProcess | undefined;
  let stopping = false;
  let delay = minDelay;
  let timer: NodeJS.Timeout | undefined;

  return new Promise<number>((resolve) => {
    const start = () => {
      timer = undefined;
      const startedAt = Date.now();
      const [cmd, ...args] = opts.command;
      // Same process group as the supervisor: stopping the service's group stops both.
      const c = spawn(cmd, args, { stdio: ["ignore", log ? "pipe" : "inherit", log ? "pipe" : "inherit"], env: process.env });
      if (log) {
        c.stdout!.on("data", (d: Buffer) => log.write(d));
        c.stderr!.on("data", (d: Buffer) => log.write(d));
      }
      child = c;
      state.childPid = c.pid;
      save();
      logLine(opts.service, "info", `Started ${opts.service}`, { childPid: c.pid, restarts: state.restarts });
      c.once("error", (err) => logLine(opts.service, "error", `Could not start ${opts.service}: ${err.message}`));
      c.once("exit", (code, signal) => {
        child = undefined;
        state.childPid = undefined;
        state.lastExit = { code, signal, at: new Date().toISOString() };
        save();
        if (stopping) {
          void reapLeftovers(opts.service).finally(() => resolve(0));
          return;
        }
        // A process that ran a while is restarted at once; one that keeps dying backs off.
        if (Date.now() - startedAt > stableMs) delay = minDelay;
        const wait = delay;
        delay = Math.min(delay * 2, maxDelay);
        state.restarts += 1;
        logLine(opts.service, "warn", `${opts.service} exited (${signal ?? `code ${code}`}); restarting in ${wait / 1000}s`, { code, signal });
        timer = setTimeout(() => void reapLeftovers(opts.service).finally(() => (stopping ? resolve(0) : start())), wait);
      });
    };
    const stop = (sig: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logLine(opts.service, "info", `Stopping ${opts.service} (${sig})`);
      if (timer) clearTimeout(timer);
      if (!child) {
        resolve(0);
        return;
      }
      child.kill("SIGTERM");
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    start();
  });
}
