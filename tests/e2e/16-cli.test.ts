/**
 * The command line people expect (issue 23, item 3), through the built bin/lakeform against the
 * real e2e stack, as a user types it:
 * - `reconcile --once` run from a directory without a tables.yaml syncs the stack's own
 *   lakeform:tablesFile (examples/tables.yaml): -f defaults to it, not to ./tables.yaml;
 * - `get tables` lists the example tables synced, with the rows Trino counts; -o json and -o yaml
 *   parse and say the same as the status file;
 * - `describe table` and `history` show the lake's real commits: Iceberg's are Trino's
 *   $snapshots, Hudi's newest is the newest _hoodie_commit_time Trino reads;
 * - `status | head -1` (and a reader gone before the first write) ends with exit 0 and no stack
 *   trace; so does `logs` of every service, interleaved, into a closed pipe;
 * - `destroy` without --yes and without a terminal refuses, and every service keeps running (the
 *   shared stack is never destroyed here: only the refusal is checked);
 * - `completion bash` is accepted by `bash -n` and completes the commands of the tree and the
 *   stack's table names;
 * - `--stack`, `--version`, `outputs KEY` and `logs --tail`.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import type { LakeOutputs } from "../../lake/outputKeys";
import { statusFile } from "../../lake/paths";
import { readStatus, type TableStatus } from "../../lake/status";
import { servicesHealth } from "../../cli/status";
import { PROJECT_DIR } from "../../stacks/automation";
import { ensureUp, STACK, trino } from "./lake";

const CLI = path.join(PROJECT_DIR, "bin", "lakeform");
/** A directory of its own, with no tables.yaml in it: whatever finds one finds the stack's. */
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-cli-"));
const env = { ...process.env, LAKEFORM_STACK: STACK, NODE_NO_WARNINGS: "1" };
let outs: LakeOutputs;

async function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(CLI, args, { cwd, env: opts.env ?? env, maxBuffer: 64 << 20, timeout: opts.timeout ?? 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** A shell pipeline, with the exit status of its first command (PIPESTATUS) and what it wrote on stderr. */
async function pipeline(script: string): Promise<{ first: number; stdout: string; stderr: string }> {
  const errFile = path.join(cwd, `stderr-${Date.now()}`);
  const { stdout } = await promisify(execFile)("bash", ["-c", `${script.replace("{err}", errFile)}; echo "first=\${PIPESTATUS[0]}"`], { cwd, env, maxBuffer: 64 << 20, timeout: 120_000 });
  const m = /first=(\d+)\n$/.exec(stdout);
  return { first: Number(m?.[1] ?? -1), stdout: stdout.replace(/first=\d+\n$/, ""), stderr: fs.readFileSync(errFile, "utf8") };
}

const count = async (q: string) => Number((await trino(outs).query(`SELECT count(*) FROM ${q}`)).rows[0][0]);

beforeAll(async () => {
  outs = await ensureUp();
  // The e2e file runs the built command: compile it from the sources of this tree.
  await promisify(execFile)("bash", [path.join(PROJECT_DIR, "scripts", "build-cli.sh")], { cwd: PROJECT_DIR });
  // No -f: the stack's lakeform:tablesFile (Pulumi.e2e.yaml doesn't set it: examples/tables.yaml).
  const rec = await cli(["reconcile", "--once"], { timeout: 600_000 });
  expect(rec.stderr).not.toMatch(/NO_FILE/);
  expect(rec.code).toBe(0);
}, 900_000);

afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

test("reconcile without -f syncs the stack's tablesFile, not ./tables.yaml", () => {
  const st = readStatus(statusFile(outs.dataDir))!;
  expect(st.file).toBe(path.join(PROJECT_DIR, "examples", "tables.yaml"));
  expect(fs.existsSync(path.join(cwd, "tables.yaml"))).toBe(false);
});

test("get tables lists the example tables synced with the rows Trino counts", async () => {
  const res = await cli(["get", "tables", "leads", "regions"]);
  expect(res.code).toBe(0);
  const lines = res.stdout.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^NAME\s+FORMAT\s+SYNCED\s+REASON\s+ROWS\s+LAST COMMIT\s+AGE$/);
  const leads = await count("hudi.default.leads");
  const regions = await count("iceberg.default.regions");
  expect(leads).toBeGreaterThan(0);
  expect(lines).toEqual([
    lines[0],
    expect.stringMatching(new RegExp(`^default\\.leads\\s+hudi\\s+yes\\s+UpToDate\\s+${leads}\\s+\\d{17}\\s+\\d+[smhd]`)),
    expect.stringMatching(new RegExp(`^default\\.regions\\s+iceberg\\s+yes\\s+UpToDate\\s+${regions}\\s+\\d+\\s+\\d+[smhd]`)),
  ]);
  const wide = await cli(["get", "tables", "leads", "-o", "wide"]);
  expect(wide.stdout.split("\n")[0]).toMatch(/AGE\s+SOURCES\s+GENERATION\s+FAILURES\s+LAST PASS\s+MAINTAINED\s+MESSAGE$/);
  expect(wide.stdout.split("\n")[1]).toMatch(/\s1\/1\s/);
});

test("get tables -o json and -o yaml parse, and say what the status file says", async () => {
  const json = await cli(["get", "tables", "leads", "regions", "-o", "json"]);
  expect(json.code).toBe(0);
  const items = JSON.parse(json.stdout) as TableStatus[];
  const st = readStatus(statusFile(outs.dataDir))!;
  expect(items).toEqual([st.tables["default.leads"], st.tables["default.regions"]]);
  expect(items.map((t) => t.rowCount)).toEqual([await count("hudi.default.leads"), await count("iceberg.default.regions")]);
  const yaml = await cli(["get", "tables", "leads", "regions", "-o", "yaml"]);
  expect(parseYaml(yaml.stdout)).toEqual(items);
});

test("history and describe show Iceberg's commits as Trino's $snapshots has them", async () => {
  const snapshots = (await trino(outs).query(`SELECT CAST(snapshot_id AS varchar) FROM iceberg.default."regions$snapshots" ORDER BY committed_at`)).rows.map((r) => String(r[0]));
  expect(snapshots.length).toBeGreaterThan(0);
  const hist = await cli(["history", "regions", "-o", "json"]);
  expect(hist.code).toBe(0);
  const commits = JSON.parse(hist.stdout) as { commit: string; time: string; rowsInserted?: number }[];
  expect(commits.map((c) => c.commit)).toEqual(snapshots);
  const human = await cli(["history", "regions"]);
  expect(human.stdout.split("\n")[0]).toMatch(/^COMMIT\s+TIME\s+AGE\s+OPERATION\s+INSERTED\s+UPDATED\s+DELETED\s+SOURCE$/);
  for (const id of snapshots) expect(human.stdout).toContain(id);

  const desc = await cli(["describe", "table", "regions"]);
  expect(desc.code).toBe(0);
  expect(desc.stdout).toMatch(/^Name:\s+default\.regions$/m);
  expect(desc.stdout).toMatch(/^Format:\s+iceberg$/m);
  expect(desc.stdout).toMatch(/^Primary key:\s+region_code$/m);
  expect(desc.stdout).toMatch(new RegExp(`^Rows:\\s+${await count("iceberg.default.regions")}$`, "m"));
  // Conditions with their times; the files Iceberg reports, and the storage listing.
  expect(desc.stdout).toMatch(/^\s+Synced\s+True\s+UpToDate\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/m);
  expect(desc.stdout).toMatch(/^Data files:\s+\d+ \(/m);
  expect(desc.stdout).toMatch(/^Storage:\s+.* in \d+ objects, of which [1-9]\d* parquet files/m);
  expect(desc.stdout).toContain(snapshots[snapshots.length - 1]);
  const asJson = JSON.parse((await cli(["describe", "table", "regions", "-o", "json"])).stdout) as { observed: { commits: { commit: string }[]; columns: { name: string }[] } };
  expect(asJson.observed.commits.map((c) => c.commit)).toEqual(snapshots);
  const trinoColumns = (await trino(outs).query(`SHOW COLUMNS FROM iceberg.default.regions`)).rows.map((r) => String(r[0]));
  expect(asJson.observed.columns.map((c) => c.name)).toEqual(trinoColumns);
});

test("history and describe show Hudi's newest commit as the newest _hoodie_commit_time Trino reads", async () => {
  const newest = String((await trino(outs).query(`SELECT max(_hoodie_commit_time) FROM hudi.default.leads`)).rows[0][0]);
  const hist = await cli(["history", "leads", "-o", "json"]);
  expect(hist.code).toBe(0);
  const commits = JSON.parse(hist.stdout) as { commit: string; rowsInserted?: number }[];
  expect(commits[commits.length - 1].commit).toBe(newest);
  const st = readStatus(statusFile(outs.dataDir))!.tables["default.leads"];
  expect(st.lastCommit?.id).toBe(newest);
  const desc = await cli(["describe", "table", "default.leads"]);
  expect(desc.code).toBe(0);
  expect(desc.stdout).toMatch(/^Format:\s+hudi$/m);
  expect(desc.stdout).toMatch(/^Recent commits \(\d+ of \d+/m);
  expect(desc.stdout).toMatch(new RegExp(`^\\s+${newest}\\s+\\d{4}-`, "m"));
  expect(desc.stdout).toMatch(/^Storage:\s+.* of which [1-9]\d* parquet files/m);
  const unknown = await cli(["describe", "table", "no_such_table"]);
  expect(unknown.code).toBe(3);
  expect(unknown.stderr).toMatch(/UNKNOWN_TABLE: no table default\.no_such_table/);
});

test("status | head -1 ends cleanly: exit 0, no stack trace", async () => {
  const head = await pipeline(`${CLI} status 2>{err} | head -1`);
  expect(head.stdout).toMatch(/^SERVICE\s+STATE/);
  expect(head.stderr).toBe("");
  expect([0, 2]).toContain(head.first); // its own verdict (2: some table of the stack not in sync), not a crash
  // A reader gone before the first byte: every write is EPIPE.
  const gone = await pipeline(`${CLI} status 2>{err} | true`);
  expect(gone.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
  expect(gone.stderr).toBe("");
  expect([0, 2]).toContain(gone.first);
  // Much more than a pipe holds: every service's log, into a reader that leaves after a line.
  const logs = await pipeline(`${CLI} logs 2>{err} | head -1`);
  expect(logs.stderr).toBe("");
  expect(logs.first).toBe(0);
});

test("destroy without --yes and without a terminal refuses, and the services keep running", async () => {
  const before = (await servicesHealth(outs.dataDir)).filter((s) => s.running).map((s) => s.service);
  expect(before).toEqual(expect.arrayContaining(["s3", "metastore", "spark", "trino"]));
  // First on a stack that has nothing: should the refusal be missing, nothing shared is at stake.
  const scratch = await cli(["--stack", `nosuch-${Date.now().toString(36)}`, "destroy"], { timeout: 60_000 });
  expect(scratch.code).toBe(2);
  expect(scratch.stderr).toMatch(/refusing without confirmation.*pass --yes/);
  // stdin is a pipe here, not a terminal.
  const res = await cli(["destroy"], { timeout: 60_000 });
  expect(res.code).toBe(2);
  expect(res.stderr).toMatch(/stack e2e.*refusing without confirmation; there is no terminal to ask on, so pass --yes/);
  const after = (await servicesHealth(outs.dataDir)).filter((s) => s.running).map((s) => s.service);
  expect(after).toEqual(before);
  expect(await count("iceberg.default.regions")).toBeGreaterThan(0);
});

test("completion bash passes bash -n and completes the command tree", async () => {
  const res = await cli(["completion", "bash"]);
  expect(res.code).toBe(0);
  const file = path.join(cwd, "lakeform.bash");
  fs.writeFileSync(file, res.stdout);
  await expect(promisify(execFile)("bash", ["-n", file])).resolves.toBeDefined();
  const complete = async (...words: string[]) => {
    const script = `source ${file}; COMP_WORDS=(${CLI} ${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length}; _lakeform_completion; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return (await promisify(execFile)("bash", ["-c", script], { env })).stdout.split("\n").filter(Boolean);
  };
  expect(await complete("")).toEqual(expect.arrayContaining(["get", "describe", "history", "status", "destroy", "completion"]));
  expect(await complete("get", "")).toEqual(["tables", "table"]);
  expect(await complete("status", "-o", "")).toEqual(["table", "wide", "json", "yaml"]);
  expect(await complete("destroy", "--")).toEqual(expect.arrayContaining(["--yes", "--stack"]));
  // Table names come from the stack itself (the reconciler's report), asked through the command.
  expect(await complete("history", "")).toEqual(expect.arrayContaining(["leads", "regions"]));
  const reg = await complete("describe", "table", "reg");
  expect(reg).toContain("regions");
  for (const name of reg) expect(name).toMatch(/^reg/);
  for (const shell of ["zsh", "fish"]) expect((await cli(["completion", shell])).stdout).toContain("lakeform");
});

test("--stack is LAKEFORM_STACK, --version is the package's, outputs KEY prints one value", async () => {
  const noStackEnv: NodeJS.ProcessEnv = { ...env };
  delete noStackEnv.LAKEFORM_STACK;
  const viaFlag = await cli(["--stack", STACK, "outputs", "trinoEndpoint"], { env: noStackEnv });
  expect(viaFlag).toMatchObject({ code: 0, stdout: `${outs.trinoEndpoint}\n` });
  const version = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")).version;
  expect((await cli(["--version"])).stdout.trim()).toBe(version);
  const secret = await cli(["outputs", "apiToken"]);
  expect(secret.code).toBe(2);
  expect(secret.stdout).toBe("");
  expect(secret.stderr).toMatch(/apiToken is a secret: add --show-secrets/);
  expect((await cli(["outputs", "apiToken", "--show-secrets"])).stdout).toBe(`${outs.apiToken}\n`);
  const all = JSON.parse((await cli(["outputs", "-o", "json"])).stdout);
  expect(all.apiToken).toBe("[secret]");
  expect(all.s3Endpoint).toBe(outs.s3Endpoint);
});

test("logs --tail N: the last N lines of every service, interleaved by time and prefixed with the service", async () => {
  const res = await cli(["logs", "--tail", "20"]);
  expect(res.code).toBe(0);
  const lines = res.stdout.trimEnd().split("\n");
  expect(lines).toHaveLength(20);
  for (const l of lines) expect(l).toMatch(/^(s3|metastore|spark|trino|reconciler|api)\s* \| /);
  const one = await cli(["logs", "reconciler", "--tail", "3"]);
  expect(one.stdout.trimEnd().split("\n")).toHaveLength(3);
  // Interleaved by time: where the output turns from one service to the other, the line after is
  // no older than the line before (each file keeps its own order, whatever its writers did).
  const both = (await cli(["logs", "reconciler", "api", "--tail", "200"])).stdout.trimEnd().split("\n");
  const parsed = both
    .map((l) => /^(\w+)\s* \| (\{.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ service: m[1], time: JSON.parse(m[2]).time as number }));
  expect(new Set(parsed.map((p) => p.service))).toEqual(new Set(["reconciler", "api"]));
  const turns = parsed.flatMap((p, i) => (i > 0 && p.service !== parsed[i - 1].service ? [[parsed[i - 1].time, p.time]] : []));
  expect(turns.length).toBeGreaterThan(0);
  for (const [before, after] of turns) expect(after).toBeGreaterThanOrEqual(before);
});
