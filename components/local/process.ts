/**
 * Background server processes for the local runtime: start detached in their own process group
 * (JVM launchers fork grandchildren), wait until healthy, tell whether one still runs, stop the
 * whole group and wait until its ports are closed.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { LakeformError } from "../../lake/errors";
import { pidAlive } from "../../lake/files";
import { processesMarked, terminate } from "../../lake/processes";
import { LOG_ROTATION_DEFAULTS, type RotationOptions } from "../../lake/rotatingLog";

export interface HealthCheck {
  /** GET this URL; healthy on a 2xx (or on any status in `statuses`). */
  http?: string;
  statuses?: number[];
  /** Healthy when the body contains this text. */
  bodyIncludes?: string;
  /** Healthy when a TCP connection to this port on 127.0.0.1 succeeds. */
  tcpPort?: number;
}

export interface ProcessSpec {
  /** Short service name, used in messages. */
  service: string;
  command: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  pidFile: string;
  health: HealthCheck;
  /** Ports the service listens on; must be free before start and are waited on after stop. */
  ports: number[];
  startTimeoutSec: number;
}

/** A local service that didn't come up healthy; the message carries the tail of its log. */
export class ServiceStartError extends LakeformError {
  constructor(
    readonly service: string,
    message: string,
    readonly logTail: string,
  ) {
    super("INTERNAL", `${service}: ${message}${logTail ? `\n--- last lines of its log ---\n${logTail}` : ""}`, { service });
    this.name = "ServiceStartError";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the process runs (zombies don't): lake/files.ts's check, the one every caller uses. */
export const isPidAlive = pidAlive;

/** Every process we start carries this variable (inherited through exec and forks): it tells ours apart. */
export const MARKER_VAR = "LAKEFORM_SERVICE";

/** The pid recorded in the pid file, if that process still runs and is the one we started. */
export function runningPid(spec: Pick<ProcessSpec, "pidFile">): number | undefined {
  let pid: number;
  try {
    pid = JSON.parse(fs.readFileSync(spec.pidFile, "utf8")).pid;
  } catch {
    return undefined;
  }
  if (!isPidAlive(pid)) return undefined;
  // Guard against pid reuse after a reboot or a crash.
  try {
    const environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    if (!environ.includes(`${MARKER_VAR}=${spec.pidFile}`)) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

/**
 * The service's process under the supervisor (cli/supervise.ts, as the reconciler and the API run
 * under `lakeform supervise`): killed or crashed, it is started again (backing off while it keeps
 * dying), its leftovers (a launcher's JVM, the driver a spark-submit started) killed first, and
 * its restarts counted in `supervisor.json` beside the pid file, which `lakeform status` shows.
 * The pid file then holds the supervisor, whose process group holds them all: stopping it stops
 * everything. The supervised command sees the PATH the plan gave it. A command that already is a
 * supervisor is left as it is. `supervisor`: the command that runs the loop (supervisorCommand).
 */
export function supervisedProcess(spec: ProcessSpec, supervisor: string[], rotation: RotationOptions = LOG_ROTATION_DEFAULTS): ProcessSpec {
  if (spec.command[1] === "supervise" || spec.command.some((c) => c.endsWith(SUPERVISE_MAIN))) return spec;
  const state = path.join(path.dirname(spec.pidFile), "supervisor.json");
  const envPath = spec.env.PATH ? ["/usr/bin/env", `PATH=${spec.env.PATH}`] : [];
  // The engine's output reaches its log through the supervisor, which rotates it by size.
  const log = ["--log", spec.logFile, "--log-max-bytes", String(rotation.maxBytes), "--log-keep", String(rotation.keep)];
  return { ...spec, command: [...supervisor, "--service", spec.service, "--state", state, ...log, "--", ...envPath, ...spec.command] };
}

const SUPERVISE_MAIN = path.join("cli", "superviseMain.ts");

/** The project this module is part of (run from its sources or from dist/): where bin/lakeform is. */
export function projectRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "bin", "lakeform"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`bin/lakeform not found above ${from}`);
  }
}

/**
 * The engines' supervisor: cli/superviseMain.ts run from the sources by this Node with tsx's
 * loader (one process: the pid file's is the supervisor's), not through bin/lakeform, so an
 * engine never waits for (or fails with) a build of the command line.
 */
export function supervisorCommand(root = projectRoot(), node = process.execPath): string[] {
  return [node, "--import", pathToFileURL(path.join(root, "node_modules", "tsx", "dist", "loader.mjs")).href, path.join(root, SUPERVISE_MAIN)];
}

export function portOpen(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

export async function checkHealth(h: HealthCheck): Promise<boolean> {
  if (h.tcpPort !== undefined && !(await portOpen(h.tcpPort))) return false;
  if (h.http) {
    try {
      const res = await fetch(h.http, { signal: AbortSignal.timeout(3000) });
      const okStatus = h.statuses ? h.statuses.includes(res.status) : res.ok;
      if (!okStatus) return false;
      if (h.bodyIncludes) return (await res.text()).includes(h.bodyIncludes);
    } catch {
      return false;
    }
  }
  return true;
}

export function tailFile(file: string, lines = 30): string {
  try {
    const all = fs.readFileSync(file, "utf8").split("\n");
    return all.slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * Starts the service unless it already runs, and waits until it is healthy; what a dead
 * supervisor left running is stopped first (replaceOrphans). Returns the pid of the process group
 * leader.
 */
export async function startService(spec: ProcessSpec): Promise<number> {
  const existing = runningPid(spec);
  if (existing) {
    await waitHealthy(spec, existing);
    return existing;
  }
  await replaceOrphans(spec);
  for (const port of spec.ports) {
    if (await portOpen(port)) {
      throw new ServiceStartError(spec.service, `port ${port} is already in use by another process`, "");
    }
  }
  fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
  fs.mkdirSync(path.dirname(spec.pidFile), { recursive: true });
  const log = fs.openSync(spec.logFile, "a");
  fs.writeSync(log, `\n==== lakeform: starting ${spec.service} at ${new Date().toISOString()} ====\n`);
  const [cmd, ...args] = spec.command;
  const child = spawn(cmd, args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env, [MARKER_VAR]: spec.pidFile },
    detached: true,
    stdio: ["ignore", log, log],
  });
  fs.closeSync(log);
  const pid = child.pid;
  if (!pid) throw new ServiceStartError(spec.service, `could not spawn ${cmd}`, "");
  child.unref();
  fs.writeFileSync(spec.pidFile, JSON.stringify({ pid, startedAt: new Date().toISOString() }));
  await waitHealthy(spec, pid);
  return pid;
}

async function waitHealthy(spec: ProcessSpec, pid: number): Promise<void> {
  const deadline = Date.now() + spec.startTimeoutSec * 1000;
  while (Date.now() < deadline) {
    if (!isPidAlive(pid)) {
      throw new ServiceStartError(spec.service, "exited while starting", tailFile(spec.logFile));
    }
    if (await checkHealth(spec.health)) return;
    await sleep(1000);
  }
  await stopService(spec);
  throw new ServiceStartError(
    spec.service,
    `not healthy after ${spec.startTimeoutSec}s (stopped it again)`,
    tailFile(spec.logFile),
  );
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * The processes of this service that outlived the process the pid file names: an engine whose
 * supervisor was killed (kill -9, the OOM killer) keeps running, reparented, holding its ports,
 * and nothing watches it any more. They are found by the marker every process we start carries
 * (LAKEFORM_SERVICE=<pid file>, so never another stack's nor another service's) and stopped
 * (TERM, then KILL after `graceSec`), so the next start is a clean one: one engine, under a
 * supervisor again. Adopting such an orphan isn't possible: its output went to a pipe of the dead
 * supervisor (it has no log any more; a Go engine dies of SIGPIPE at its next line), and only a
 * parent can wait for a process to exit, so no new supervisor could notice its death.
 */
export async function replaceOrphans(spec: Pick<ProcessSpec, "pidFile"> & Partial<Pick<ProcessSpec, "logFile" | "service" | "ports">>, graceSec = 20): Promise<number[]> {
  const orphans = processesMarked(`${MARKER_VAR}=${spec.pidFile}`);
  if (orphans.length === 0) return [];
  if (spec.logFile) {
    fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
    fs.appendFileSync(spec.logFile, `\n==== lakeform: stopping ${spec.service ?? "the service"}'s processes left without their supervisor (pids ${orphans.join(", ")}) at ${new Date().toISOString()} ====\n`);
  }
  const stuck = await terminate(orphans, graceSec * 1000);
  if (stuck.length > 0) throw new ServiceStartError(spec.service ?? path.basename(path.dirname(spec.pidFile)), `processes left by its dead supervisor don't exit even on SIGKILL (pids ${stuck.join(", ")})`, "");
  // A JVM's main thread can be reaped (so the pid reads as gone) while its other threads still
  // hold its sockets for a moment: the ports are free only once they are closed.
  const deadline = Date.now() + 30_000;
  for (const port of spec.ports ?? []) {
    while ((await portOpen(port)) && Date.now() < deadline) await sleep(250);
  }
  return orphans;
}

/**
 * Stops the whole process group: TERM, then KILL after a grace period; then whatever of the
 * service outlived a supervisor that died (replaceOrphans); waits for its ports to close.
 */
export async function stopService(spec: Pick<ProcessSpec, "pidFile" | "ports">, graceSec = 20): Promise<void> {
  const pid = runningPid(spec);
  if (pid) {
    signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + graceSec * 1000;
    while (isPidAlive(pid) && Date.now() < deadline) await sleep(250);
    signalGroup(pid, "SIGKILL");
    while (isPidAlive(pid)) await sleep(100);
  }
  await replaceOrphans(spec, graceSec);
  fs.rmSync(spec.pidFile, { force: true });
  const deadline = Date.now() + 30_000;
  for (const port of spec.ports) {
    while ((await portOpen(port)) && Date.now() < deadline) await sleep(250);
  }
}
