/**
 * The watcher driving the real loop (not started, so nothing is reconciled): only tables.yaml and
 * the declared local sources count, and each change requeues only the tables it concerns. The
 * reconciler's own log written beside tables.yaml, an editor's swap file, or an undeclared file
 * beside the sources trigger nothing. The file watcher is a fake that reports a change the way
 * chokidar does (only paths its `ignored` lets through, folder by folder): nothing waits for
 * real file events, so the tests take milliseconds.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import type { LakeDriver, SourceStore } from "../../reconciler/driver";
import { Reconciler, type DesiredChange } from "../../reconciler/loop";
import { InputWatcher, WatchScope, type FileWatcher, type WatchOptions } from "../../reconciler/watch";

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

/** A file watcher that reports what the test says changed, filtered as chokidar filters: by `ignored`, from the watched folder down. */
class FakeWatcher implements FileWatcher {
  readonly dirs = new Set<string>();
  private all: (event: string, file: string) => void = () => undefined;

  constructor(dirs: string[], private readonly opts: WatchOptions) {
    for (const d of dirs) this.dirs.add(d);
  }

  on(event: string, cb: (...a: never[]) => void): this {
    if (event === "all") this.all = cb as unknown as (event: string, file: string) => void;
    return this;
  }
  once(_event: "ready", cb: () => void): this {
    setImmediate(cb);
    return this;
  }
  add(dirs: string[]): void {
    for (const d of dirs) this.dirs.add(d);
  }
  unwatch(dirs: string[]): void {
    for (const d of dirs) this.dirs.delete(d);
  }
  async close(): Promise<void> {}

  /** Something happened to `file` on disk: reported if chokidar would see it. */
  change(event: "add" | "change" | "unlink", file: string): void {
    const root = [...this.dirs].filter((d) => file.startsWith(d + path.sep)).sort((a, b) => b.length - a.length)[0];
    if (!root) return;
    // Descended folder by folder from the watched one, each folder looked at before its files.
    const parts = path.relative(root, file).split(path.sep);
    for (let i = 1; i < parts.length; i++) if (this.opts.ignored(path.join(root, ...parts.slice(0, i)), { isDirectory: () => true })) return;
    if (this.opts.ignored(file, { isDirectory: () => false })) return;
    this.all(event, file);
  }
}

describe("InputWatcher", () => {
  let dir: string;
  let tablesFile: string;
  let r: Reconciler;
  let w: InputWatcher;
  let fake: FakeWatcher;
  const events: string[] = [];
  /** Everything the watcher logged, debug included. */
  const logged: string[] = [];

  /** Writes a file and reports the change, as the file system and chokidar would. */
  const write = (rel: string, text: string) => {
    const file = path.join(dir, rel);
    const existed = fs.existsSync(file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    fake.change(existed ? "change" : "add", file);
  };

  beforeAll(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-watch-")));
    tablesFile = path.join(dir, "tables.yaml");
    fs.mkdirSync(path.join(dir, "data"));
    fs.writeFileSync(path.join(dir, "data/a-1.csv"), "id\n1\n");
    fs.writeFileSync(path.join(dir, "b.csv"), "id\n1\n");
    fs.writeFileSync(tablesFile, header + table("a", ["data/a-*.csv"]) + table("b", ["b.csv"]) + table("c", ["s3://bucket/c.csv"]));
    const never = async (): Promise<never> => {
      throw new Error("the loop is not started in this test");
    };
    const driver: LakeDriver = { observe: never, write: never, register: never, resync: never, evolvePartitions: never, forget: never, clearLeftovers: never, drop: never, maintain: never };
    const sources: SourceStore = { resolve: never, land: never };
    r = new Reconciler({ tablesFile, statusFile: path.join(dir, "status.json"), warehouseBucket: "w", driver, sources, log: pino({ level: "silent" }) });
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
    w = await InputWatcher.start(r, { tablesFile, log, watch: (dirs, opts) => (fake = new FakeWatcher(dirs, opts)) });
  });

  afterAll(async () => {
    await w?.close();
  });

  test("it watches the folders of tables.yaml and the declared local sources, nothing else", () => {
    expect([...fake.dirs].sort()).toEqual([dir, path.join(dir, "data")]);
  });

  test("the reconciler's own log written beside tables.yaml (and other undeclared files) trigger nothing", () => {
    for (let i = 0; i < 40; i++) write("reconcile.log", `{"level":30,"msg":"Noticed a change; reconciling","n":${i}}\n`);
    write(".tables.yaml.swp", "x");
    write("data/notes.txt", "not a source");
    write("data/a-1.csv.tmp", "id\n2\n");
    write("data/sub/a-9.csv", "id\n9\n");
    // Then one declared source changes: its event is the first and only one.
    write("b.csv", "id\n1\n2\n");
    expect(events).toEqual(["requeue default.b"]);
    // Not even reported by the watcher (it would log each change it sees, at debug level).
    expect(logged.filter((l) => /reconcile\.log|swp|notes\.txt|a-1\.csv\.tmp|a-9/.test(l))).toEqual([]);
    expect(logged.filter((l) => /b\.csv/.test(l))).toHaveLength(1);
  });

  test("a source changed, added or removed requeues only the tables that declare it", () => {
    events.length = 0;
    write("data/a-1.csv", "id\n1\n3\n");
    write("data/a-2.csv", "id\n4\n");
    fs.unlinkSync(path.join(dir, "data/a-2.csv"));
    fake.change("unlink", path.join(dir, "data/a-2.csv"));
    expect(events).toEqual(["requeue default.a", "requeue default.a", "requeue default.a"]);
  });

  test("tables.yaml: only changed, new and removed tables count; a save without a change requeues nothing", () => {
    events.length = 0;
    const aDue = r.dueAt("default.a");
    write("tables.yaml", header + table("a", ["data/a-*.csv"]) + table("b", ["b.csv"], "    prune: true\n") + table("c", ["s3://bucket/c.csv"]));
    write("tables.yaml", "# a comment only\n" + header + table("a", ["data/a-*.csv"]) + table("b", ["b.csv"], "    prune: true\n") + table("c", ["s3://bucket/c.csv"]));
    expect(events).toEqual(["tables.yaml added=[] changed=[default.b] removed=[]", "tables.yaml added=[] changed=[] removed=[]"]);
    expect(r.dueAt("default.a")).toBe(aDue); // the edits didn't touch it
  });

  test("a new table's sources are watched from then on, even in a folder made later; a source no longer declared counts for nothing", () => {
    events.length = 0;
    // Keep b declared by no table but with prune: false, so nothing is pruned here.
    write("tables.yaml", header + table("a", ["data/a-*.csv"]) + table("d", ["later/in/*.csv"]));
    expect(events[0]).toBe("tables.yaml added=[default.d] changed=[] removed=[default.b,default.c]");
    write("b.csv", "id\n5\n");
    write("later/in/x.csv", "id\n1\n");
    expect(events.slice(1)).toEqual(["requeue default.d"]);
    // The folder where later/ will be is watched already (the nearest existing one).
    expect([...fake.dirs]).toContain(dir);
  });
});
