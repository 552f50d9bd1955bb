/**
 * The command line's reading commands and options, without a lakehouse: -o formats, kubectl-style
 * columns and ages, get/describe/history rendering, outputs KEY, destroy's confirmation, a closed
 * pipe, --stack, -f's default, logs interleaved and tailed, and completion generated from the tree.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { parse as parseYaml } from "yaml";
import { bashCompletion, completionTree, fishCompletion, TABLE_NAMES_COMMAND, tableNames, zshCompletion } from "../../cli/completion";
import { confirm } from "../../cli/confirm";
import { findSpec, formatDescription, formatHistory, formatTables, getTablesCommand, selectTables, type TableDescription } from "../../cli/get";
import { engineLineTime, interleave, logsCommand, tailLines } from "../../cli/logs";
import { program } from "../../cli/main";
import { age, exitQuietlyOnClosedPipe, formatBytes, outputFormat, renderColumns, serialize } from "../../cli/output";
import { outputsCommand } from "../../cli/outputs";
import { OUTPUT_KEYS, type LakeOutputs } from "../../lake/outputKeys";
import { stackTablesFile } from "../../lake/stackData";
import type { LakeStatus, TableStatus } from "../../lake/status";
import type { TableSpec } from "../../lake/spec";

const NOW = Date.parse("2026-12-03T06:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

function table(name: string, over: Partial<TableStatus> = {}): TableStatus {
  return {
    table: `default.${name}`,
    format: "hudi",
    generation: "3",
    observedGeneration: "3",
    inSync: true,
    sources: { total: 2, applied: 2 },
    lastCommit: { id: "20261203055000000", time: ago(600) },
    rowCount: 100,
    conditions: [
      { type: "Ready", status: "True", reason: "Healthy", message: "table exists", lastTransitionTime: ago(7200) },
      { type: "Synced", status: "True", reason: "UpToDate", message: "every source applied", lastTransitionTime: ago(600) },
    ],
    lastPassAt: ago(30),
    failures: 0,
    ...over,
  };
}

const status = (...tables: TableStatus[]): LakeStatus => ({ file: "/x/tables.yaml", updatedAt: ago(1), tables: Object.fromEntries(tables.map((t) => [t.table, t])) });

describe("-o: one format for every reading command", () => {
  it("is table by default, and --json is -o json", () => {
    expect(outputFormat({})).toBe("table");
    expect(outputFormat({ json: true })).toBe("json");
    expect(outputFormat({ output: "YAML" })).toBe("yaml");
    expect(outputFormat({ output: "wide" })).toBe("wide");
  });
  it("refuses a format it doesn't know, naming -o and the formats; and two that disagree", () => {
    expect(() => outputFormat({ output: "xml" })).toThrow(/-o\/--output xml: not a format \(table, wide, json, yaml\)/);
    expect(() => outputFormat({ output: "yaml", json: true })).toThrow(/--json and -o yaml/);
  });
  it("gives the same data as JSON and as YAML", () => {
    const value = { tables: [table("leads")], n: 1, none: null, gone: undefined };
    const json = JSON.parse(serialize(value, "json"));
    expect(parseYaml(serialize(value, "yaml"))).toEqual(json);
    expect(json).not.toHaveProperty("gone");
  });
});

describe("columns and ages, kubectl's way", () => {
  it("pads every column but the last, two spaces apart, without trailing blanks", () => {
    expect(renderColumns(["NAME", "AGE", "MESSAGE"], [["a", "5m", ""], ["longer", "3d", "why"]]).split("\n")).toEqual(["NAME    AGE  MESSAGE", "a       5m", "longer  3d   why"]);
  });
  it("says an age in one or two units", () => {
    expect(age(ago(5), NOW)).toBe("5s");
    expect(age(ago(119), NOW)).toBe("119s");
    expect(age(ago(150), NOW)).toBe("2m30s");
    expect(age(ago(600), NOW)).toBe("10m");
    expect(age(ago(3 * 3600 + 300), NOW)).toBe("3h5m");
    expect(age(ago(30 * 3600), NOW)).toBe("30h");
    expect(age(ago(3 * 86400 + 7200), NOW)).toBe("3d2h");
    expect(age(ago(40 * 86400), NOW)).toBe("40d");
    expect(age(undefined, NOW)).toBe("-");
    expect(age("not a time", NOW)).toBe("-");
  });
  it("says sizes in binary units", () => {
    expect(formatBytes(812)).toBe("812 B");
    expect(formatBytes(13 * 1024 * 1024)).toBe("13.0 MiB");
    expect(formatBytes(null)).toBe("-");
  });
});

describe("get tables", () => {
  const failing = table("orders", {
    format: "iceberg",
    inSync: false,
    rowCount: null,
    lastCommit: undefined,
    failures: 3,
    conditions: [{ type: "Synced", status: "False", reason: "BadCsv", message: "line 3 has a different number of fields", lastTransitionTime: ago(60) }],
  });

  it("prints NAME FORMAT SYNCED REASON ROWS LAST COMMIT AGE, one line per table by name", () => {
    const lines = formatTables([table("leads"), failing], false, NOW).split("\n");
    expect(lines[0]).toMatch(/^NAME\s+FORMAT\s+SYNCED\s+REASON\s+ROWS\s+LAST COMMIT\s+AGE$/);
    expect(lines[1]).toMatch(/^default\.leads\s+hudi\s+yes\s+UpToDate\s+100\s+20261203055000000\s+10m$/);
    expect(lines[2]).toMatch(/^default\.orders\s+iceberg\s+NO\s+BadCsv\s+-\s+-\s+-$/);
  });

  it("-o wide adds sources, generation, failures, the last pass, the last maintenance and the reason's message", () => {
    const maintained = { at: ago(300), actions: [], commits: 3, dataFiles: 1, oldestCommit: null };
    const lines = formatTables([table("leads", { observedGeneration: "2", lastMaintenance: maintained }), failing], true, NOW).split("\n");
    expect(lines[0]).toMatch(/AGE\s+SOURCES\s+GENERATION\s+FAILURES\s+LAST PASS\s+MAINTAINED\s+MESSAGE$/);
    expect(lines[1]).toMatch(/\s2\/2\s+2 \(want 3\)\s+0\s+30s\s+5m ago$/);
    expect(lines[2]).toMatch(/\s3\s+30s\s+-\s+line 3 has a different number of fields$/);
  });

  it("selects tables by name or database.name, and names the one it doesn't have", () => {
    const st = status(table("leads"), failing);
    expect(selectTables(st, ["orders", "default.leads"]).map((t) => t.table)).toEqual(["default.leads", "default.orders"]);
    expect(() => selectTables(st, ["nope"])).toThrow(/no table default\.nope in the reconciler's status \(it has default\.leads, default\.orders\)/);
  });

  it("exits 0 when every table listed is in sync, 2 when one isn't, 1 without a report; -o json is the status entries", () => {
    let out = "";
    const w = (s: string) => (out += s);
    expect(getTablesCommand(status(table("leads"), failing), { names: ["leads"], format: "table" }, w)).toBe(0);
    expect(getTablesCommand(status(table("leads"), failing), { format: "table" }, w)).toBe(2);
    expect(getTablesCommand(undefined, { format: "table" }, w)).toBe(1);
    out = "";
    getTablesCommand(status(failing, table("leads")), { format: "json" }, w);
    expect(JSON.parse(out)).toEqual([table("leads"), failing]);
  });
});

describe("history and describe", () => {
  const commits = [
    { commit: "20261203050000000", time: ago(3600), operation: "bulk_insert", source: "data/leads-100.csv", rowsInserted: 100, rowsUpdated: 0, rowsDeleted: 0, generation: "1", sourceHash: "abcdef0123456789", path: "arrow" as const },
    { commit: "20261203055000000", time: ago(600), operation: "upsert", source: "api:upload.csv", rowsInserted: 2, rowsUpdated: 3, rowsDeleted: 1 },
  ];
  const spec: TableSpec = {
    name: "leads",
    database: "default",
    format: "hudi",
    primaryKey: ["index"],
    orderingField: "updated_at",
    partitionBy: [],
    sources: ["data/leads-*.csv"],
    schemaPolicy: "addColumns",
    prune: false,
    retain: { commits: 20 },
    generation: "3",
    line: 4,
  };

  it("lists commits oldest first with their rows; wide adds the write path, the generation and source hash", () => {
    const lines = formatHistory(commits, false, NOW).split("\n");
    expect(lines[0]).toMatch(/^COMMIT\s+TIME\s+AGE\s+OPERATION\s+INSERTED\s+UPDATED\s+DELETED\s+SOURCE$/);
    expect(lines[1]).toMatch(/^20261203050000000\s+\S+\s+60m\s+bulk_insert\s+100\s+0\s+0\s+data\/leads-100\.csv$/);
    expect(lines[2]).toMatch(/^20261203055000000\s+\S+\s+10m\s+upsert\s+2\s+3\s+1\s+api:upload\.csv$/);
    const wide = formatHistory(commits, true, NOW).split("\n");
    expect(wide[0]).toMatch(/\sDELETED\s+PATH\s+GENERATION\s+SOURCE HASH\s+SOURCE$/);
    expect(wide[1]).toMatch(/\s0\s+arrow\s+1\s+abcdef012345\s+data\/leads-100\.csv$/);
    expect(wide[2]).toMatch(/\s1\s+-\s+-\s+-\s+api:upload\.csv$/);
    expect(formatHistory([], false, NOW)).toBe("no commits");
  });

  it("describes the spec, the conditions with their times, columns, files and the recent commits", () => {
    const d: TableDescription = {
      table: "default.leads",
      spec,
      declaredIn: "/p/examples/tables.yaml",
      location: "s3a://warehouse/default/leads",
      status: table("leads"),
      observed: {
        exists: true,
        inCatalog: true,
        filesExist: true,
        rowCount: 100,
        columns: [
          { name: "index", type: "bigint" },
          { name: "name", type: "string" },
        ],
        commits,
        dataFiles: { count: 5, small: 4, bytes: 3 * 1024 * 1024, targetBytes: 128 * 1024 * 1024 },
      },
      storage: { objects: 12, bytes: 4 * 1024 * 1024, parquetFiles: 6, parquetBytes: 3 * 1024 * 1024, truncated: false },
    };
    const text = formatDescription(d, 1, NOW);
    expect(text).toMatch(/^Name:\s+default\.leads$/m);
    expect(text).toMatch(/^Primary key:\s+index$/m);
    expect(text).toMatch(/^Retain:\s+20 commits$/m);
    expect(text).toMatch(/^ {2}data\/leads-\*\.csv$/m);
    expect(text).toMatch(/^Synced:\s+yes \(sources applied 2\/2, generation 3\)$/m);
    expect(text).toMatch(/^Data files:\s+5 \(3\.0 MiB; 4 under 3\/4 of the 128\.0 MiB target\)$/m);
    expect(text).toMatch(/^Storage:\s+4\.0 MiB in 12 objects, of which 6 parquet files/m);
    expect(text).toMatch(/^ {2}Ready\s+True\s+Healthy\s+2026-12-03T04:00:00\.000Z\s+120m\s+table exists$/m);
    expect(text).toMatch(/^ {2}index\s+bigint\s+primary key$/m);
    expect(text).toMatch(/^Recent commits \(1 of 2; lakeform history leads lists them all\):$/m);
    expect(text).toContain("20261203055000000");
    expect(text).not.toContain("20261203050000000");
  });

  it("still describes what it knows when the lake couldn't be asked", () => {
    const text = formatDescription({ table: "default.leads", spec, status: table("leads"), observeError: "the Spark job server is not answering" }, 10, NOW);
    expect(text).toMatch(/^Synced:\s+yes/m);
    expect(text).toMatch(/^Lake:\s+not observed \(the Spark job server is not answering\)$/m);
  });

  it("finds the spec in tables.yaml, else the status file's last declaration", () => {
    const st = status(table("gone", { spec: { ...spec, name: "gone" } }));
    expect(findSpec("leads", [spec], st)).toMatchObject({ id: "default.leads", from: "tables.yaml" });
    expect(findSpec("default.gone", [spec], st)).toMatchObject({ id: "default.gone", from: "status", spec: { name: "gone" } });
    expect(findSpec("other", [spec], st)).toEqual({ id: "default.other", from: undefined });
    expect(() => findSpec("no-dash", [spec], st)).toThrow(/is not a table name/);
  });
});

describe("outputs KEY", () => {
  const outs = Object.fromEntries(OUTPUT_KEYS.map((k) => [k, `value-of-${k}`])) as LakeOutputs;
  const secretKeys = ["apiToken", "s3SecretKey"];
  const run = (opts: { key?: string; showSecrets?: boolean; format?: "table" | "json" | "yaml" | "wide" }) => {
    let out = "";
    outputsCommand(outs, { format: "table", secretKeys, ...opts }, (s) => (out += s));
    return out;
  };
  it("prints one value as it is, a secret's only with --show-secrets", () => {
    expect(run({ key: "trinoEndpoint" })).toBe("value-of-trinoEndpoint\n");
    expect(() => run({ key: "apiToken" })).toThrow(/apiToken is a secret: add --show-secrets to print it/);
    expect(run({ key: "apiToken", showSecrets: true })).toBe("value-of-apiToken\n");
    expect(() => run({ key: "nope" })).toThrow(/no output nope; the outputs are dataDir, /);
  });
  it("prints every output with the secrets hidden, in any format", () => {
    expect(JSON.parse(run({ format: "json" }))).toMatchObject({ apiToken: "[secret]", s3Endpoint: "value-of-s3Endpoint" });
    expect(parseYaml(run({ format: "yaml", showSecrets: true }))).toEqual(outs);
    expect(run({})).toMatch(/^KEY\s+VALUE\n/);
    expect(run({})).toMatch(/^apiToken\s+\[secret\]$/m);
  });
});

describe("destroy asks first", () => {
  const io = (isTTY: boolean, answer?: string) => {
    const input = Object.assign(new PassThrough(), { isTTY });
    const output = new PassThrough();
    let asked = "";
    output.on("data", (d) => (asked += String(d)));
    if (answer !== undefined) setTimeout(() => input.write(answer + "\n"), 10);
    return { io: { input, output }, asked: () => asked };
  };
  it("refuses without a terminal unless --yes, saying to pass --yes", async () => {
    await expect(confirm("lakeform destroy stops stack e2e", {}, io(false).io)).rejects.toThrow(/refusing without confirmation; there is no terminal to ask on, so pass --yes/);
    await expect(confirm("x", { yes: true }, io(false).io)).resolves.toBe(true);
  });
  it("on a terminal goes on only on y or yes", async () => {
    const yes = io(true, "yes");
    await expect(confirm("lakeform destroy stops stack e2e", {}, yes.io)).resolves.toBe(true);
    expect(yes.asked()).toContain("lakeform destroy stops stack e2e. Go ahead? [y/N]");
    await expect(confirm("x", {}, io(true, "Y").io)).resolves.toBe(true);
    await expect(confirm("x", {}, io(true, "").io)).resolves.toBe(false);
    await expect(confirm("x", {}, io(true, "nope").io)).resolves.toBe(false);
  });
});

describe("a closed pipe", () => {
  it("ends the command quietly with 0 on EPIPE, and leaves other errors alone", () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const exit = jest.fn();
    exitQuietlyOnClosedPipe(stream, exit);
    stream.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    expect(exit).toHaveBeenCalledWith(0);
    expect(() => stream.emit("error", Object.assign(new Error("write EIO"), { code: "EIO" }))).toThrow(/EIO/);
  });
});

describe("the stack: --stack and -f's default", () => {
  const saved = process.env.LAKEFORM_STACK;
  afterEach(() => {
    if (saved === undefined) delete process.env.LAKEFORM_STACK;
    else process.env.LAKEFORM_STACK = saved;
  });
  it("-f is the stack's lakeform:tablesFile, relative to the project, else examples/tables.yaml", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-tf-"));
    fs.writeFileSync(path.join(root, "Pulumi.box.yaml"), "config:\n  lakeform:tablesFile: lake/tables.yaml\n");
    expect(stackTablesFile("box", root)).toBe(path.join(root, "lake", "tables.yaml"));
    expect(stackTablesFile("other", root)).toBe(path.join(root, "examples", "tables.yaml"));
    fs.rmSync(root, { recursive: true, force: true });
  });
  it("--stack sets LAKEFORM_STACK before the command runs; a bad name is refused", async () => {
    let seen: string | undefined;
    const probe = program.commands.find((c) => c.name() === "completion")!;
    const action = jest.spyOn(process.stdout, "write").mockImplementation(() => ((seen = process.env.LAKEFORM_STACK), true));
    await program.parseAsync(["node", "lakeform", "--stack", "box", "completion", "bash"]);
    action.mockRestore();
    expect(probe).toBeDefined();
    expect(seen).toBe("box");
    await expect(program.parseAsync(["node", "lakeform", "--stack", "../x", "completion", "bash"])).rejects.toThrow(/--stack \.\.\/x: not a stack name/);
  });
  it("--help ends with examples and the exit codes", () => {
    let help = "";
    program.configureOutput({ writeOut: (s) => (help += s) });
    program.outputHelp();
    expect(help).toMatch(/Examples:\n {2}lakeform up/);
    expect(help).toMatch(/Exit status:\n {2}0 {2}done/);
    expect(help).toMatch(/^ {2}6 {2}a service unavailable/m);
  });
});

describe("logs: every service interleaved by time, --tail", () => {
  const now = Date.parse("2026-12-03T06:00:00");
  it("reads the time each service's lines start with", () => {
    expect(engineLineTime('{"level":30,"time":1796277600000,"msg":"x"}')).toBe(1796277600000);
    expect(engineLineTime("2026-12-03T05:48:22.032Z\tINFO\tmain\tio.trino")).toBe(Date.parse("2026-12-03T05:48:22.032Z"));
    expect(engineLineTime("2026-12-03 05:47:59,145 INFO lakeform.jobs listening")).toBe(Date.parse("2026-12-03T05:47:59.145"));
    expect(engineLineTime("26/12/03 05:47:58 INFO BlockManager: Initialized")).toBe(Date.parse("2026-12-03T05:47:58"));
    expect(engineLineTime("I1203 05:49:12.067222 meta_aggregator.go:335 loop", now)).toBe(Date.parse("2026-12-03T05:49:12.067"));
    expect(engineLineTime("05:37:37.668 [pool-8-thread-1] ERROR org.apache.thrift", now)).toBe(Date.parse("2026-12-03T05:37:37.668"));
    // Past midnight, a metastore line of 23:59 is yesterday's.
    expect(engineLineTime("23:59:00.000 [main] INFO x", Date.parse("2026-12-03T00:01:00"))).toBe(Date.parse("2026-12-02T23:59:00"));
    expect(engineLineTime("==== lakeform: starting s3 at 2026-12-03T05:37:03.127Z ====")).toBe(Date.parse("2026-12-03T05:37:03.127Z"));
    expect(engineLineTime("\tat java.lang.Thread.run(Thread.java:840)")).toBeUndefined();
  });

  it("merges services by time without reordering any service's own lines", () => {
    const e = (service: string, time: number, line = `${service}@${time}`) => ({ service, time, line });
    expect(interleave([[e("a", 1), e("a", 5), e("a", 4)], [e("b", 2), e("b", 6)], []]).map((x) => x.line)).toEqual(["a@1", "b@2", "a@5", "a@4", "b@6"]);
  });

  it("reads only the end of a big file for --tail", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-tail-"));
    const file = path.join(dir, "x.log");
    fs.writeFileSync(file, Array.from({ length: 50_000 }, (_, i) => `line ${i}`).join("\n") + "\n");
    expect(tailLines(file, 3).lines).toEqual(["line 49997", "line 49998", "line 49999"]);
    expect(tailLines(file, 0).lines).toEqual([]);
    fs.writeFileSync(file, "a\nb");
    expect(tailLines(file, 5).lines).toEqual(["a", "b"]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("prints the last N lines of all services, each prefixed with its service, a stack trace staying with its line", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-logs-all-"));
    const log = (svc: string, text: string) => {
      fs.mkdirSync(path.join(dataDir, svc, "logs"), { recursive: true });
      fs.writeFileSync(path.join(dataDir, svc, "logs", `${svc}.log`), text);
    };
    const t = (s: number) => Date.parse("2026-12-03T05:00:00Z") + s * 1000;
    log("reconciler", [1, 4, 6].map((s) => JSON.stringify({ level: 30, time: t(s), msg: `rec ${s}` })).join("\n") + "\n");
    log("trino", `2026-12-03T05:00:02.000Z\tINFO\ttrino 2\n2026-12-03T05:00:05.000Z\tERROR\ttrino 5\n\tat io.trino.Foo(Foo.java:1)\n`);
    let out = "";
    const spy = jest.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
    try {
      expect(await logsCommand(dataDir, undefined, { pretty: false })).toBe(0);
      const all = out.trimEnd().split("\n");
      expect(all.map((l) => l.replace(/\s+\|.*(rec|trino) (\d).*$/, " $2").replace(/\s+\|\s+\tat.*/, " at"))).toEqual([
        "reconciler 1",
        "trino 2",
        "reconciler 4",
        "trino 5",
        "trino at",
        "reconciler 6",
      ]);
      out = "";
      expect(await logsCommand(dataDir, [], { pretty: false, tail: 2 })).toBe(0);
      expect(out).toMatch(/^trino {6}\| \tat io\.trino\.Foo\(Foo\.java:1\)\nreconciler \| \{.*"rec 6"\}\n$/);
      out = "";
      expect(await logsCommand(dataDir, "reconciler", { pretty: false, tail: 1 })).toBe(0);
      expect(out).toBe(JSON.stringify({ level: 30, time: t(6), msg: "rec 6" }) + "\n");
      await expect(logsCommand(dataDir, undefined, { tail: -1 })).rejects.toThrow(/--tail -1: not a number of lines/);
    } finally {
      spy.mockRestore();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("completion, generated from the command tree", () => {
  const script = bashCompletion(program as never);
  const complete = (...words: string[]) => {
    const file = path.join(os.tmpdir(), `lakeform-completion-${process.pid}.bash`);
    fs.writeFileSync(file, script);
    const cmd = `source ${file}; COMP_WORDS=(lakeform ${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length}; _lakeform_completion; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync("bash", ["-c", cmd], { encoding: "utf8" }).split("\n").filter(Boolean);
  };

  it("is valid bash and knows every visible command, none hidden", () => {
    const file = path.join(os.tmpdir(), `lakeform-completion-n-${process.pid}.bash`);
    fs.writeFileSync(file, script);
    expect(() => execFileSync("bash", ["-n", file])).not.toThrow();
    const names = completionTree(program as never)[0].subcommands.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["get", "describe", "history", "completion", "logs", "trash"]));
    expect(names).not.toContain("supervise");
    expect(complete("")).toEqual(expect.arrayContaining(names));
  });

  it("completes subcommands, options, option values and argument choices per command", () => {
    expect(complete("get", "")).toEqual(["tables", "table"]);
    expect(complete("trash", "")).toEqual(["purge"]);
    expect(complete("get", "tables", "-o", "")).toEqual(["table", "wide", "json", "yaml"]);
    expect(complete("destroy", "--")).toEqual(expect.arrayContaining(["--yes", "--stack"]));
    // logs' -f is --follow (no value): the next word is a service, not a file.
    expect(complete("logs", "-f", "")).toEqual(["s3", "metastore", "spark", "trino", "reconciler", "api"]);
    // --stack's value is skipped on the way to the command.
    expect(complete("--stack", "e2e", "trash", "")).toEqual(["purge"]);
    expect(complete("completion", "")).toEqual(["bash", "zsh", "fish"]);
  });

  it("completes table names from the stack, by asking the command itself", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-names-"));
    const fake = path.join(dir, "lakeform");
    // A stand-in for the command: answers the hidden table-names request as cli/main.ts does.
    fs.writeFileSync(fake, `#!/usr/bin/env bash\n[ "$1" = "${TABLE_NAMES_COMMAND}" ] && printf 'leads\\nregions\\nsales.orders\\n'\n`, { mode: 0o755 });
    const file = path.join(dir, "c.bash");
    fs.writeFileSync(file, script);
    const cmd = (words: string) => `source ${file}; COMP_WORDS=(${fake} ${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _lakeform_completion; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const run = (words: string) => execFileSync("bash", ["-c", cmd(words)], { encoding: "utf8" }).split("\n").filter(Boolean);
    expect(run("history ''")).toEqual(["leads", "regions", "sales.orders"]);
    expect(run("describe table r")).toEqual(["regions"]);
    // By position: describe's first argument is the kind, its second the table.
    expect(run("describe ''")).toEqual(["table", "tables"]);
    expect(run("describe table leads ''")).toEqual([]);
    expect(run("history -f x.yaml ''")).toEqual(["leads", "regions", "sales.orders"]);
    expect(run("get tables ''")).toEqual(["leads", "regions", "sales.orders"]);
    expect(run("get tables leads ''")).toEqual(["leads", "regions", "sales.orders"]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(tableNames(["sales.orders", "default.leads"])).toEqual(["leads", "sales.orders"]);
  });

  it("gives zsh the bash function through bashcompinit, and fish a complete line per word", () => {
    expect(zshCompletion(program as never)).toMatch(/^#compdef lakeform\n[\s\S]*bashcompinit[\s\S]*complete -o default -F _lakeform_completion lakeform/);
    const fish = fishCompletion(program as never);
    expect(fish).toContain("complete -c lakeform -n '__fish_use_subcommand' -a 'get'");
    expect(fish).toContain("complete -c lakeform -n '__fish_seen_subcommand_from trash; and not __fish_seen_subcommand_from purge' -a 'purge'");
    expect(fish).toMatch(/complete -c lakeform -n '__fish_seen_subcommand_from status' -s o -l output -x -a 'table wide json yaml'/);
  });
});
