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
import { uiLinks, unverifiedBecause } from "../../cli/status";
import { projectRoot, supervisedProcess, supervisorCommand, type ProcessSpec } from "../../components/local/process";
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

test("status links the status page and Trino's UI when they are on 127.0.0.1, and nothing elsewhere", () => {
  const dataDir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "lakeform-links-"));
  try {
    fs.mkdirSync(path.join(dataDir, "api"), { recursive: true });
    fs.writeFileSync(path.join(dataDir, "api", "endpoint.json"), JSON.stringify({ endpoint: "http://127.0.0.1:8090" }));
    // No API service running: no page to link.
    expect(uiLinks({ dataDir, trinoEndpoint: "https://127.0.0.1:18443" }, false)).toEqual([expect.stringMatching(/^trino UI: /)]);
    expect(uiLinks({ dataDir, trinoEndpoint: "https://127.0.0.1:18443" }, true)).toEqual([
      "status page: http://127.0.0.1:8090/ (the API's read token: lakeform outputs apiReadToken --show-secrets)",
      "trino UI:    https://127.0.0.1:18443/ui/ (user admin, password: lakeform outputs trinoPassword --show-secrets)",
    ]);
    expect(uiLinks({ dataDir: path.join(dataDir, "none"), trinoEndpoint: "https://trino.example.com" }, true)).toEqual([]);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
