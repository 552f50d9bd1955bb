/**
 * The supervisor the reconciler and the API run under: a real process tree, a real `kill -9`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pidAlive as alive } from "../../lake/files";

const ROOT = path.resolve(__dirname, "..", "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test("a supervised process killed with SIGKILL is back within seconds; SIGTERM stops both", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-supervise-"));
  const stateFile = path.join(dir, "supervisor.json");
  const log = fs.openSync(path.join(dir, "svc.log"), "a");
  const sup = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "cli/main.ts"), "supervise", "--service", "svc", "--state", stateFile, "--", "sleep", "300"], {
    stdio: ["ignore", log, log],
    detached: true,
  });
  const state = () => {
    try {
      return JSON.parse(fs.readFileSync(stateFile, "utf8")) as { childPid?: number; restarts: number };
    } catch {
      return undefined;
    }
  };
  try {
    const first = await until("the first child", () => (alive(state()?.childPid) ? state()!.childPid : undefined));
    process.kill(first!, "SIGKILL");
    const killedAt = Date.now();
    const second = await until("a new child", () => {
      const s = state();
      return s && s.childPid && s.childPid !== first && alive(s.childPid) ? s.childPid : undefined;
    });
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(state()!.restarts).toBe(1);
    const lines = fs.readFileSync(path.join(dir, "svc.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.some((l) => l.name === "supervisor" && /svc exited \(SIGKILL\); restarting in 1s/.test(l.msg))).toBe(true);

    process.kill(sup.pid!, "SIGTERM");
    await until("the supervisor to stop", () => (alive(sup.pid) ? undefined : true));
    await until("the child to stop", () => (alive(second) ? undefined : true));
  } finally {
    try {
      process.kill(-sup.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
