/**
 * Engines that heal themselves on the local runtime: every local service runs under `lakeform
 * supervise` (its plan's PATH kept for the engine), the supervisor finds what a dead engine left
 * running by its marker, and `lakeform status` says a table line can't be checked while an engine
 * or the reconciler is down.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { processesMarked } from "../../cli/supervise";
import { pidAlive } from "../../lake/files";
import { uiLinks, uiUrls, unverifiedBecause } from "../../cli/status";
import { portOpen, projectRoot, startService, stopService, supervisedProcess, supervisorCommand, type ProcessSpec } from "../../components/local/process";
import { unusedPort } from "../helpers/ports";
import type { Condition } from "../../lake/conditions";
import { emptyStatus, formatStatus } from "../../lake/status";

const spec = (command: string[], env: Record<string, string> = {}): ProcessSpec => ({
  service: "trino",
  command,
  env,
  cwd: "/data/trino",
  logFile: "/data/trino/logs/trino.log",
  pidFile: "/data/trino/trino.pid",
  health: { http: "http://127.0.0.1:1/v1/info" },
  ports: [1],
  startTimeoutSec: 60,
});

test("a local engine's command runs under the supervisor (tsx, no build), reporting beside its pid file, with its plan's PATH", () => {
  const root = projectRoot();
  const sup = supervisorCommand(root);
  expect(sup).toEqual([process.execPath, "--import", `file://${root}/node_modules/tsx/dist/loader.mjs`, path.join(root, "cli/superviseMain.ts")]);
  expect([sup[0], new URL(sup[2]).pathname, sup[3]].every((f) => fs.existsSync(f))).toBe(true);
  const s = supervisedProcess(spec(["/opt/trino/bin/launcher", "run"], { PATH: "/jdk/bin:/usr/bin" }), sup);
  expect(s.command).toEqual([...sup, "--service", "trino", "--state", "/data/trino/supervisor.json", "--log", "/data/trino/logs/trino.log", "--log-max-bytes", "52428800", "--log-keep", "5", "--", "/usr/bin/env", "PATH=/jdk/bin:/usr/bin", "/opt/trino/bin/launcher", "run"]);
  expect(supervisedProcess(spec(["/usr/bin/weed", "server"]), sup).command.slice(-3)).toEqual(["--", "/usr/bin/weed", "server"]);
  // Supervised already (the reconciler and the API, or a plan applied twice): left as it is.
  const bin = path.join(root, "bin/lakeform");
  const already = spec([bin, "supervise", "--service", "api", "--state", "/x", "--", bin, "api"]);
  expect(supervisedProcess(already, sup)).toBe(already);
  expect(supervisedProcess(s, sup)).toBe(s);
});

test("the supervisor run as the engines run it restarts a process killed with SIGKILL, after killing what it left, and counts the restart", async () => {
  const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "lakeform-selfheal-"));
  const state = path.join(dir, "supervisor.json");
  const marker = path.join(dir, "x.pid");
  const [node, ...args] = supervisorCommand();
  const sup = spawn(node, [...args, "--service", "t", "--state", state, "--", "sh", "-c", `sleep 300 & echo $! > ${dir}/left.$$; wait`], {
    env: { ...process.env, LAKEFORM_SERVICE: marker },
    stdio: "ignore",
  });
  const read = () => (fs.existsSync(state) ? JSON.parse(fs.readFileSync(state, "utf8")) : {});
  const until = async (what: string, ok: () => boolean) => {
    for (const deadline = Date.now() + 20_000; !ok(); await new Promise((r) => setTimeout(r, 100))) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(read())}`);
  };
  try {
    await until("the first start", () => read().childPid !== undefined && fs.existsSync(`${dir}/left.${read().childPid}`));
    const first = read().childPid as number;
    const left = Number(fs.readFileSync(`${dir}/left.${first}`, "utf8"));
    process.kill(first, "SIGKILL");
    await until("the restart", () => read().restarts === 1 && read().childPid !== undefined && read().childPid !== first);
    expect(read().lastExit.signal).toBe("SIGKILL");
    // The sleep the dead shell started was killed (gone, or a zombie nobody reaped yet).
    expect(pidAlive(left)).toBe(false);
  } finally {
    sup.kill("SIGTERM");
    await new Promise((r) => sup.once("exit", r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("the processes carrying a service's marker are found (what a dead engine left running), others not", async () => {
  const marker = `LAKEFORM_SERVICE=/tmp/selfhealing-${process.pid}.pid`;
  const [name, value] = marker.split("=");
  const marked = spawn("sleep", ["30"], { env: { ...process.env, [name]: value }, stdio: "ignore" });
  const other = spawn("sleep", ["30"], { env: { ...process.env, [name]: `${value}-other` }, stdio: "ignore" });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const found = processesMarked(marker);
    expect({ marked: found.includes(marked.pid!), other: found.includes(other.pid!), self: found.includes(process.pid) }).toEqual({ marked: true, other: false, self: false });
  } finally {
    marked.kill("SIGKILL");
    other.kill("SIGKILL");
  }
});

test("an engine whose supervisor died keeps its port: the next start stops it (TERM) and starts one again, and a stop after such a death stops it too", async () => {
  const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "lakeform-orphan-"));
  const port = await unusedPort();
  const pidFile = path.join(dir, "x.pid");
  const server = ["-e", `require("node:http").createServer((q, r) => r.end(String(process.pid))).listen(${port}, "127.0.0.1")`];
  // An engine left by a supervisor that died: it carries the service's marker, and the pid file names the dead supervisor.
  const orphan = () => spawn(process.execPath, server, { env: { ...process.env, LAKEFORM_SERVICE: pidFile }, detached: true, stdio: "ignore" });
  const dead = spawn("true");
  await new Promise((r) => dead.once("exit", r));
  fs.writeFileSync(pidFile, JSON.stringify({ pid: dead.pid }));
  const s: ProcessSpec = {
    service: "t", command: [process.execPath, ...server], env: {}, cwd: dir, logFile: path.join(dir, "t.log"), pidFile,
    health: { http: `http://127.0.0.1:${port}/` }, ports: [port], startTimeoutSec: 20,
  };
  const marked = () => processesMarked(`LAKEFORM_SERVICE=${pidFile}`).filter((p) => pidAlive(p));
  const answering = async () => Number(await (await fetch(`http://127.0.0.1:${port}/`)).text());
  const first = orphan();
  try {
    for (const deadline = Date.now() + 10_000; !(await portOpen(port)); await new Promise((r) => setTimeout(r, 100))) if (Date.now() > deadline) throw new Error("the orphan never listened");
    expect(await answering()).toBe(first.pid);
    const pid = await startService(s);
    expect(pidAlive(first.pid)).toBe(false);
    expect(marked()).toEqual([pid]);
    expect(await answering()).toBe(pid);
    expect(fs.readFileSync(s.logFile, "utf8")).toContain(`left without their supervisor (pids ${first.pid})`);
    // The new one's supervisor dies too (here: the pid file names a dead process again); a stop (destroy, a changed plan) still stops what runs.
    process.kill(pid, "SIGKILL");
    const second = orphan();
    fs.writeFileSync(pidFile, JSON.stringify({ pid: dead.pid }));
    for (const deadline = Date.now() + 10_000; !(await portOpen(port)); await new Promise((r) => setTimeout(r, 100))) if (Date.now() > deadline) throw new Error("the second orphan never listened");
    await stopService(s, 5);
    expect({ alive: pidAlive(second.pid), marked: marked(), port: await portOpen(port) }).toEqual({ alive: false, marked: [], port: false });
  } finally {
    for (const p of marked()) process.kill(p, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("while an engine or the reconciler is down, every table line says it is unverified and a synced one shows SYNCED unknown", () => {
  const up = (service: string, running = true) => ({ service, running });
  expect(unverifiedBecause([up("s3"), up("metastore"), up("spark"), up("trino"), up("reconciler"), up("api", false)])).toBeUndefined();
  expect(unverifiedBecause([up("s3", false), up("trino"), up("reconciler")])).toBe("s3 is down");
  expect(unverifiedBecause([up("s3", false), up("trino", false)])).toBe("s3, trino are down");

  const st = emptyStatus("tables.yaml");
  const cond = { type: "Synced", status: "True", reason: "UpToDate", message: "all applied", lastTransitionTime: "2026-11-24T10:00:00Z" } as Condition;
  st.tables["default.a"] = {
    table: "default.a", format: "hudi", generation: "g", observedGeneration: "g", inSync: true, sources: { total: 1, applied: 1 },
    lastCommit: { id: "20261124100000000", time: "2026-11-24T10:00:00.000Z" }, rowCount: 5, conditions: [cond], failures: 0,
  };
  expect(formatStatus(st).split("\n")[1]).toMatch(/\byes\b.*UpToDate$/);
  const line = formatStatus(st, new Date(), { unverified: "s3 is down" }).split("\n")[1];
  expect(line).toMatch(/\bunknown\b.*Unverified \(s3 is down; as last reported\) UpToDate$/);
  expect(line).not.toMatch(/\byes\b/);
});

test("status links the status page, Spark's and Trino's UI when they are on 127.0.0.1, and nothing elsewhere", () => {
  const dataDir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "lakeform-links-"));
  try {
    fs.mkdirSync(path.join(dataDir, "api"), { recursive: true });
    fs.writeFileSync(path.join(dataDir, "api", "endpoint.json"), JSON.stringify({ endpoint: "http://127.0.0.1:8090" }));
    // No API service running: no page to link.
    expect(uiLinks({ dataDir, trinoEndpoint: "https://127.0.0.1:18443" }, false)).toEqual([expect.stringMatching(/^trino UI: /)]);
    expect(uiLinks({ dataDir, trinoEndpoint: "https://127.0.0.1:18443" }, true)).toEqual([
      "status page: http://127.0.0.1:8090/ (the API's read token: lakeform outputs apiReadToken --show-secrets)",
      "trino UI:    https://127.0.0.1:18443/ui/ (user lakeform, password: lakeform outputs trinoPassword --show-secrets)",
    ]);
    expect(uiLinks({ dataDir: path.join(dataDir, "none"), trinoEndpoint: "https://trino.example.com" }, true)).toEqual([]);
    // The job server's Spark UI, where the stack has one (its output sparkUi; "" on docker).
    const outs = { dataDir, trinoEndpoint: "https://127.0.0.1:18443", sparkUi: "http://127.0.0.1:8897/" };
    expect(uiLinks(outs, true)[1]).toBe("spark UI:    http://127.0.0.1:8897/ (any user, the API's read token as password)");
    expect(uiUrls(outs, true)).toEqual({ statusPage: "http://127.0.0.1:8090/", spark: "http://127.0.0.1:8897/", trino: "https://127.0.0.1:18443/ui/" });
    expect(uiUrls({ ...outs, sparkUi: "" }, false)).toEqual({ trino: "https://127.0.0.1:18443/ui/" });
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
