/**
 * The watcher, for real (chokidar on a temp folder), driving the real loop (not started, so
 * nothing is reconciled): only tables.yaml and the declared local sources count, and each change
 * requeues only the tables it concerns. The reconciler's own log written beside tables.yaml,
 * an editor's swap file, or an undeclared file beside the sources trigger nothing.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import type { LakeDriver, SourceStore } from "../../reconciler/driver";
import { Reconciler, type DesiredChange } from "../../reconciler/loop";
import { InputWatcher, WatchScope } from "../../reconciler/watch";

const table = (name: string, sources: string[], extra = "") => `  - name: ${name}\n    format: hudi\n    primaryKey: id\n    sources: [${sources.join(", ")}]\n${extra}`;
const header = "apiVersion: lakeform/v1\ntables:\n";

describe("WatchScope", () => {
  const scope = new WatchScope("/p/tables.yaml", [
    { database: "default", name: "a", sources: ["data/a-*.csv"] },
    { database: "default", name: "b", sources: ["b.csv", "data/a-1.csv"] },
    { database: "default", name: "c", sources: ["s3://bucket/c/*.csv"] },
    { database: "default", name: "d", sources: ["deep/**/*.csv"] },
  ], () => true);

  test.each([
    ["/p/tables.yaml", true],
    ["/p/b.csv", true],
    ["/p/data/a-7.csv", true],
    ["/p/deep/x/y/z.csv", true],
    ["/p/reconcile.log", false],
    ["/p/.tables.yaml.swp", false],
    ["/p/data/notes.txt", false],
    ["/p/data/a-1.csv.tmp", false],
    ["/elsewhere/b.csv", false],
  ])("%s is relevant: %s", (p, want) => {
    expect(scope.relevant(p)).toBe(want);
  });

  test("folders are descended only where a declared source can be", () => {
    expect(scope.relevant("/p", true)).toBe(true);
    expect(scope.relevant("/p/data", true)).toBe(true);
    expect(scope.relevant("/p/data/sub", true)).toBe(false);
    expect(scope.relevant("/p/deep/x/y", true)).toBe(true);
    expect(scope.relevant("/p/node_modules", true)).toBe(false);
    expect(scope.relevant("/p/b.csv", false)).toBe(true);
    // Inside a ** root, a path not known to be a file may be a folder; known as a file, it must match.
    expect(scope.relevant("/p/deep/x/notes.txt", false)).toBe(false);
  });

  test("a file concerns the tables whose sources match it; S3 sources are left to the resync", () => {
    expect(scope.concerned("/p/data/a-1.csv")).toEqual(["default.a", "default.b"]);
    expect(scope.concerned("/p/data/a-2.csv")).toEqual(["default.a"]);
    expect(scope.concerned("/p/deep/x/q.csv")).toEqual(["default.d"]);
    expect(scope.concerned("/p/reconcile.log")).toEqual([]);
    expect(scope.dirs.sort()).toEqual(["/p", "/p/data", "/p/deep"]);
  });

  test("a source folder that doesn't exist yet is watched from its nearest existing parent", () => {
    const s = new WatchScope("/p/tables.yaml", [{ database: "default", name: "a", sources: ["later/in/*.csv"] }], (d) => d === "/p" || d === "/");
    expect(s.dirs).toEqual(["/p"]);
    expect(s.relevant("/p/later", true)).toBe(true);
    expect(s.relevant("/p/later/in", true)).toBe(true);
    expect(s.relevant("/p/later/other", true)).toBe(false);
  });
});

describe("InputWatcher on a real folder", () => {
  let dir: string;
  let tablesFile: string;
  let r: Reconciler;
  let w: InputWatcher;
  const events: string[] = [];
  /** Everything the watcher logged, debug included. */
  const logged: string[] = [];

  const write = (rel: string, text: string) => fs.writeFileSync(path.join(dir, rel), text);
  /** Waits (bounded) until the watcher has reported n events in all, naming what it waited for. */
  const waitForEvents = async (n: number, what: string, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (events.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; events so far: ${JSON.stringify(events)}`);
      await new Promise((res) => setTimeout(res, 25));
    }
  };

  beforeAll(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-watch-")));
    tablesFile = path.join(dir, "tables.yaml");
    fs.mkdirSync(path.join(dir, "data"));
    write("data/a-1.csv", "id\n1\n");
    write("b.csv", "id\n1\n");
    write("tables.yaml", header + table("a", ["data/a-*.csv"]) + table("b", ["b.csv"]) + table("c", ["s3://bucket/c.csv"]));
    const never = async (): Promise<never> => {
      throw new Error("the loop is not started in this test");
    };
    const driver: LakeDriver = { observe: never, write: never, register: never, resync: never, forget: never, clearLeftovers: never, drop: never, maintain: never };
    const sources: SourceStore = { resolve: never, land: never };
    r = new Reconciler({ tablesFile, statusFile: path.join(os.tmpdir(), `lakeform-watch-status-${process.pid}.json`), warehouseBucket: "w", driver, sources, log: pino({ level: "silent" }) });
    r.loadDesired();
    const requeue = r.requeue.bind(r);
    const load = r.loadDesired.bind(r);
    r.requeue = (ids: string[]) => {
      events.push(`requeue ${ids.join(" ")}`);
      requeue(ids);
    };
    r.loadDesired = (): DesiredChange => {
      const c = load();
      events.push(`tables.yaml added=[${c.added}] changed=[${c.changed}] removed=[${c.removed}]`);
      return c;
    };
    const log = pino({ level: "debug" }, { write: (line: string) => void logged.push(line) });
    w = await InputWatcher.start(r, { tablesFile, log, stabilityMs: 100 });
  });

  afterAll(async () => {
    await w?.close();
  });

  test("the reconciler's own log written beside tables.yaml (and other undeclared files) trigger nothing", async () => {
    const log = fs.openSync(path.join(dir, "reconcile.log"), "a");
    for (let i = 0; i < 40; i++) {
      fs.writeSync(log, `{"level":30,"msg":"Noticed a change; reconciling","n":${i}}\n`);
      await new Promise((res) => setTimeout(res, 10));
    }
    fs.closeSync(log);
    write(".tables.yaml.swp", "x");
    write("data/notes.txt", "not a source");
    write("data/a-1.csv.tmp", "id\n2\n");
    fs.mkdirSync(path.join(dir, "data/sub"));
    write("data/sub/a-9.csv", "id\n9\n");
    // Then one declared source changes: its event is the first and only one.
    write("b.csv", "id\n1\n2\n");
    await waitForEvents(1, "the change to b.csv");
    await new Promise((res) => setTimeout(res, 400));
    expect(events).toEqual(["requeue default.b"]);
    // Not even reported by the watcher (it would log each change it sees, at debug level).
    expect(logged.filter((l) => /reconcile\.log|swp|notes\.txt|a-1\.csv\.tmp|a-9/.test(l))).toEqual([]);
    expect(logged.filter((l) => /b\.csv/.test(l))).toHaveLength(1);
  });

  test("a source changed or added requeues only the tables that declare it", async () => {
    events.length = 0;
    write("data/a-1.csv", "id\n1\n3\n");
    await waitForEvents(1, "the change to data/a-1.csv");
    write("data/a-2.csv", "id\n4\n");
    await waitForEvents(2, "the new data/a-2.csv");
    fs.unlinkSync(path.join(dir, "data/a-2.csv"));
    await waitForEvents(3, "the removal of data/a-2.csv");
    expect(events).toEqual(["requeue default.a", "requeue default.a", "requeue default.a"]);
  });

  test("tables.yaml: only changed, new and removed tables count; a save without a change requeues nothing", async () => {
    events.length = 0;
    const aDue = r.dueAt("default.a");
    write("tables.yaml", header + table("a", ["data/a-*.csv"]) + table("b", ["b.csv"], "    prune: true\n") + table("c", ["s3://bucket/c.csv"]));
    await waitForEvents(1, "the edit of table b");
    write("tables.yaml", "# a comment only\n" + header + table("a", ["data/a-*.csv"]) + table("b", ["b.csv"], "    prune: true\n") + table("c", ["s3://bucket/c.csv"]));
    await waitForEvents(2, "the comment-only save");
    expect(events).toEqual(["tables.yaml added=[] changed=[default.b] removed=[]", "tables.yaml added=[] changed=[] removed=[]"]);
    expect(r.dueAt("default.a")).toBe(aDue); // the edits didn't touch it
  });

  test("an editor's save by rename is seen; a new table's sources are watched from then on, even in a folder made later", async () => {
    events.length = 0;
    const next = header + table("a", ["data/a-*.csv"]) + table("d", ["later/in/*.csv"]);
    write("tables.yaml.new", next);
    fs.renameSync(path.join(dir, "tables.yaml.new"), tablesFile);
    await waitForEvents(1, "tables.yaml replaced by rename");
    expect(events[0]).toBe("tables.yaml added=[default.d] changed=[] removed=[default.b,default.c]");
    // b.csv is no longer declared: its changes count for nothing now.
    write("b.csv", "id\n5\n");
    fs.mkdirSync(path.join(dir, "later/in"), { recursive: true });
    await new Promise((res) => setTimeout(res, 300));
    write("later/in/x.csv", "id\n1\n");
    await waitForEvents(2, "the new later/in/x.csv");
    await new Promise((res) => setTimeout(res, 300));
    expect(events.slice(1)).toEqual(["requeue default.d"]);
  });
});
