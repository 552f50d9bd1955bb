/**
 * `lakeform` commands run from the sources as processes of a test's own (`lakeform api`,
 * `lakeform reconcile`), as the services run them, on the e2e lakehouse: the stack's connection
 * with a data dir of the test's own (testDataDir), so the status file, the metrics report and the
 * API's view are the test's alone (the e2e stack runs no services). Each process's log is kept
 * (its tail) for the message of a test that gives up because one of them died.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LakeOutputs } from "../../lake/outputKeys";
import { unusedPort } from "../helpers/ports";
import { waitFor } from "./lake";

const ROOT = path.resolve(__dirname, "../..");
const LOG_TAIL = 20_000;

export interface LakeformChild {
  name: string;
  child: ChildProcess;
  /** The tail of its stdout and stderr. */
  log: string;
}

/**
 * A directory of the test's own holding an outputs file of the stack with `dataDir` pointing at
 * it, and these files (tables.yaml, its sources).
 */
export function testDataDir(prefix: string, outs: LakeOutputs, files: Record<string, string> = {}): { dir: string; outputsFile: string; tablesFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lakeform-${prefix}-`));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
  const outputsFile = path.join(dir, "outputs.json");
  fs.writeFileSync(outputsFile, JSON.stringify({ ...outs, dataDir: dir }), { mode: 0o600 });
  return { dir, outputsFile, tablesFile: path.join(dir, "tables.yaml") };
}

export class LakeformProcesses {
  readonly children: LakeformChild[] = [];

  constructor(readonly outputsFile: string) {}

  /** `lakeform <args>` from the sources (tsx), JSON logs, on this outputs file. */
  start(name: string, args: string[]): LakeformChild {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, LAKEFORM_OUTPUTS_FILE: this.outputsFile, LAKEFORM_LOG_FORMAT: "json", NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const entry: LakeformChild = { name, child, log: "" };
    child.stdout?.on("data", (d) => (entry.log = (entry.log + d).slice(-LOG_TAIL)));
    child.stderr?.on("data", (d) => (entry.log = (entry.log + d).slice(-LOG_TAIL)));
    this.children.push(entry);
    return entry;
  }

  /** For waitFor's gaveUp: which of them exited, with its log's tail; undefined while all run. */
  readonly died = (): string | undefined => {
    const gone = this.children.find((c) => c.child.exitCode !== null);
    return gone ? `${gone.name} exited ${gone.child.exitCode}: ${gone.log}` : undefined;
  };

  /** `lakeform api -f tablesFile` on a free port; its base URL once /healthz answers 200 (every engine up). */
  async startApi(tablesFile: string, timeoutMs = 120_000): Promise<string> {
    const port = await unusedPort();
    const base = `http://127.0.0.1:${port}`;
    this.start("api", ["api", "-f", tablesFile, "--port", String(port)]);
    await waitFor("the API's /healthz to answer 200", async () => ((await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), {
      timeoutMs,
      gaveUp: this.died,
    });
    return base;
  }

  /** SIGTERM to each still running, SIGKILL after `graceMs`. */
  async stopAll(graceMs = 60_000): Promise<void> {
    await Promise.all(
      this.children.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const exited = await Promise.race([new Promise((r) => child.once("exit", () => r(true))), new Promise((r) => setTimeout(() => r(false), graceMs))]);
        if (!exited) child.kill("SIGKILL");
      }),
    );
  }
}
