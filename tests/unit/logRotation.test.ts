/**
 * The local services' logs rotated by size (lake/rotatingLog.ts): lines stay whole, the current
 * file never passes maxBytes, `keep` rotated files are kept and the oldest dropped; lakeform:logs
 * is read with its defaults and a bad value named; the supervisor writes its service's output and
 * its own lines through it.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { logRotation } from "../../components/local/providers";
import { supervisorCommand } from "../../components/local/process";
import { LOG_ROTATION_DEFAULTS, RotatingLog } from "../../lake/rotatingLog";

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-logs-"))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test("past maxBytes the log moves to .1, older ones up, the oldest past keep removed; every line whole and none lost among those kept", () => {
  const file = path.join(dir, "s3.log");
  const log = new RotatingLog(file, { maxBytes: 100, keep: 2 });
  // 35 lines of 10 bytes, 10 lines a file; one written as a single chunk of many lines.
  for (let i = 0; i < 20; i++) log.write(`line ${String(i).padStart(4, "0")}\n`);
  log.write(Array.from({ length: 15 }, (_, i) => `line ${String(i + 20).padStart(4, "0")}\n`).join(""));
  log.close();
  expect(fs.readdirSync(dir).sort()).toEqual(["s3.log", "s3.log.1", "s3.log.2"]);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
  for (const f of ["s3.log", "s3.log.1", "s3.log.2"]) expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(100);
  // Newest in the current file, then .1, then .2; lines 0-9 went with the file that fell off.
  const lines = [read("s3.log.2"), read("s3.log.1"), read("s3.log")].join("").split("\n").filter(Boolean);
  expect(lines).toEqual(Array.from({ length: 25 }, (_, i) => `line ${String(i + 10).padStart(4, "0")}`));
});

test("an existing log's size counts (a restart appends, then rotates); keep 0 keeps none", () => {
  const file = path.join(dir, "trino.log");
  fs.writeFileSync(file, "x".repeat(95));
  const log = new RotatingLog(file, { maxBytes: 100, keep: 0 });
  log.write("0123456789\n");
  log.close();
  expect([fs.readdirSync(dir), fs.readFileSync(file, "utf8")]).toEqual([["trino.log"], "0123456789\n"]);
  expect(() => new RotatingLog(file, { maxBytes: 0, keep: 1 })).toThrow(/maxBytes must be > 0/);
});

test("lakeform:logs: defaults 50 MiB and 5 kept; a bad value is refused naming the field", () => {
  expect(logRotation(undefined)).toEqual(LOG_ROTATION_DEFAULTS);
  expect(LOG_ROTATION_DEFAULTS).toEqual({ maxBytes: 52_428_800, keep: 5 });
  expect(logRotation({ keep: 2 })).toEqual({ maxBytes: 52_428_800, keep: 2 });
  expect(logRotation({ maxBytes: 4096, keep: 0 })).toEqual({ maxBytes: 4096, keep: 0 });
  expect(() => logRotation({ maxBytes: "10MB" })).toThrow(/lakeform:logs\.maxBytes must be a whole number/);
  expect(() => logRotation({ keep: -1 })).toThrow(/lakeform:logs\.keep must be a whole number >= 0/);
});

test("the supervisor writes its service's output and its own lines to the rotated log", async () => {
  const file = path.join(dir, "svc.log");
  const [node, ...args] = supervisorCommand();
  const script = "for i in $(seq 1 200); do echo \"output line $i of the service, padded to be long enough\"; done; sleep 30";
  const sup = spawn(node, [...args, "--service", "svc", "--state", path.join(dir, "supervisor.json"), "--log", file, "--log-max-bytes", "2048", "--log-keep", "2", "--", "sh", "-c", script], { stdio: "ignore" });
  try {
    for (const deadline = Date.now() + 20_000; !fs.existsSync(`${file}.2`) || !fs.readFileSync(file, "utf8").includes("line 200 "); await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() > deadline) throw new Error(`no rotation: ${fs.readdirSync(dir).join(", ")}`);
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("svc.log")).sort()).toEqual(["svc.log", "svc.log.1", "svc.log.2"]);
    for (const f of ["svc.log", "svc.log.1", "svc.log.2"]) expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(2048);
  } finally {
    sup.kill("SIGTERM");
    await new Promise((r) => sup.once("exit", r));
  }
  // Its own "Stopping" line went there too.
  expect(fs.readFileSync(file, "utf8")).toMatch(/"name":"supervisor".*"msg":"Stopping svc \(SIGTERM\)"/);
}, 60_000);
