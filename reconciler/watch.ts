/**
 * The watcher: tables.yaml and the declared local sources (paths and globs), nothing else. A
 * change requeues only the tables it concerns: a source file the tables whose sources match it;
 * tables.yaml the tables whose spec changed, new or removed (the loop works that out from the
 * spec generations). Files written beside them (the reconciler's own log redirected next to
 * tables.yaml, an editor's swap file) are never even reported by the watcher.
 *
 * It watches folders rather than files (editors replace a file on save, which a watch on the
 * file itself loses), and filters every path through `WatchScope.relevant` before chokidar
 * reports it: a folder is descended only when a declared source could be inside it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { watch } from "chokidar";
import { consumeRepairRequest, requestedTable } from "../lake/repairRequests";
import type { Logger } from "pino";
import { globToRegExp, isGlob, isS3Source } from "../lake/sources";
import { tableId, type TableSpec } from "../lake/spec";
import type { DesiredChange } from "./loop";

interface Pattern {
  /** Tables declaring this source. */
  tables: Set<string>;
  /** Absolute path or glob. */
  abs: string;
  match: (p: string) => boolean;
  /** The folder the source's files are in (a glob's fixed part). */
  root: string;
  /** Whether files may be in sub-folders of root (a glob with a wildcard in a folder, or **). */
  deep: boolean;
}

/** Which paths the watcher looks at, for one tables.yaml and its tables. Pure but for existsSync. */
export class WatchScope {
  private readonly patterns: Pattern[] = [];
  /** Folders to hand chokidar: the nearest existing folder of each root (a root may not exist yet). */
  readonly dirs: string[];
  private readonly roots: string[];

  constructor(
    readonly tablesFile: string,
    tables: Pick<TableSpec, "database" | "name" | "sources">[],
    exists: (p: string) => boolean = fs.existsSync,
  ) {
    const baseDir = path.dirname(tablesFile);
    const byAbs = new Map<string, Pattern>();
    for (const t of tables) {
      for (const declared of t.sources) {
        if (isS3Source(declared)) continue; // not on this machine: the resync looks at them
        const abs = path.resolve(baseDir, declared);
        let p = byAbs.get(abs);
        if (!p) {
          if (declared.endsWith("/")) {
            // A watched folder (lake/prefixSources.ts): any file under it, at any depth.
            p = { tables: new Set(), abs, match: (f) => f.startsWith(`${abs}/`), root: abs, deep: true };
          } else if (isGlob(abs)) {
            const fixed = abs.slice(0, abs.search(/[*?]/));
            const root = fixed.endsWith("/") ? fixed.slice(0, -1) : path.dirname(fixed);
            const re = globToRegExp(abs);
            p = { tables: new Set(), abs, match: (f) => re.test(f), root, deep: abs.slice(root.length + 1).includes("/") };
          } else {
            p = { tables: new Set(), abs, match: (f) => f === abs, root: path.dirname(abs), deep: false };
          }
          byAbs.set(abs, p);
          this.patterns.push(p);
        }
        p.tables.add(tableId(t));
      }
    }
    this.roots = [...new Set([baseDir, ...this.patterns.map((p) => p.root)])];
    const nearest = (dir: string): string => {
      let d = dir;
      while (!exists(d) && path.dirname(d) !== d) d = path.dirname(d);
      return d;
    };
    this.dirs = [...new Set(this.roots.map(nearest))];
  }

  /** Tables whose declared sources include this file. */
  concerned(file: string): string[] {
    const ids = new Set<string>();
    for (const p of this.patterns) if (p.match(file)) for (const id of p.tables) ids.add(id);
    return [...ids].sort();
  }

  /**
   * Whether the watcher should look at a path: tables.yaml, a declared source, or a folder on the
   * way to one. isDir is undefined when not known yet (chokidar asks both ways).
   */
  relevant(p: string, isDir?: boolean): boolean {
    if (isDir !== true && (p === this.tablesFile || this.patterns.some((x) => x.match(p)))) return true;
    if (isDir === false) return false;
    // A folder: a root itself, on the way down to one (not created yet when watching began), or
    // inside a root whose source may be in sub-folders.
    const under = (child: string, parent: string) => child === parent || child.startsWith(parent + path.sep);
    if (this.roots.some((r) => under(r, p))) return true;
    return this.patterns.some((x) => x.deep && under(p, x.root));
  }
}

/** What the watcher needs of a file watcher (chokidar's FSWatcher; tests hand it a fake that reports what they say). */
export interface FileWatcher {
  on(event: "all", cb: (event: string, file: string) => void): unknown;
  on(event: "error", cb: (err: unknown) => void): unknown;
  once(event: "ready", cb: () => void): unknown;
  add(dirs: string[]): unknown;
  unwatch(dirs: string[]): unknown;
  close(): Promise<void>;
}

export interface WatchOptions {
  /** A path is looked at only when this says no (isDir undefined when not known yet). */
  ignored: (p: string, stats?: { isDirectory(): boolean }) => boolean;
  stabilityMs: number;
}

/** Watches folders with chokidar: a file is reported once its size has been stable for stabilityMs. */
export const chokidarWatch = (dirs: string[], opts: WatchOptions): FileWatcher =>
  watch(dirs, { ignoreInitial: true, ignored: opts.ignored, awaitWriteFinish: { stabilityThreshold: opts.stabilityMs, pollInterval: 100 } });

/** The loop, as the watcher sees it. */
export interface WatchedLoop {
  readonly tables: TableSpec[];
  loadDesired(): DesiredChange;
  requeue(ids: string[]): void;
}

export class InputWatcher {
  private scope: WatchScope;

  private constructor(
    private readonly watcher: FileWatcher,
    private readonly loop: WatchedLoop,
    private readonly tablesFile: string,
    private readonly log: Logger,
    initial: WatchScope,
    /** The folder of repair requests (lake/repairRequests.ts), when this watcher serves them. */
    private readonly requests?: string,
  ) {
    this.scope = initial;
  }

  /** Starts watching; resolves once the first scan is done (until then changes would be missed). */
  static async start(
    loop: WatchedLoop,
    opts: {
      tablesFile: string;
      log: Logger;
      stabilityMs?: number;
      watch?: (dirs: string[], opts: WatchOptions) => FileWatcher;
      /** Also watch this folder of repair requests (lake/repairRequests.ts): each requeues its table. */
      repairRequests?: string;
    },
  ): Promise<InputWatcher> {
    const tablesFile = path.resolve(opts.tablesFile);
    const scope = new WatchScope(tablesFile, loop.tables);
    const requests = opts.repairRequests ? path.resolve(opts.repairRequests) : undefined;
    if (requests) {
      // Requests made while no reconciler ran are served by the loop's first pass over every table.
      fs.mkdirSync(requests, { recursive: true });
      for (const n of fs.readdirSync(requests)) fs.rmSync(path.join(requests, n), { force: true });
    }
    let self: InputWatcher | undefined;
    const current = () => self?.scope ?? scope;
    const isRequest = (p: string, isDir?: boolean) => !!requests && (p === requests ? isDir !== false : path.dirname(p) === requests && isDir !== true);
    const watcher = (opts.watch ?? chokidarWatch)(requests ? [...new Set([...scope.dirs, requests])] : scope.dirs, {
      ignored: (p, stats) => {
        const abs = path.resolve(p);
        const isDir = stats ? stats.isDirectory() : undefined;
        return !(isRequest(abs, isDir) || current().relevant(abs, isDir));
      },
      stabilityMs: opts.stabilityMs ?? 300,
    });
    self = new InputWatcher(watcher, loop, tablesFile, opts.log, scope, requests);
    watcher.on("all", (event, file) => self!.changed(event, path.resolve(file)));
    watcher.on("error", (err) => opts.log.warn({ err: (err as Error).message }, "File watcher error"));
    await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
    return self;
  }

  private changed(event: string, file: string): void {
    if (event === "addDir" || event === "unlinkDir") return;
    const requested = this.requests && event !== "unlink" ? requestedTable(this.requests, file) : undefined;
    if (requested) {
      // A writer found the table needing a repair (REPAIR_PENDING): a pass over it now.
      this.log.info({ table: requested }, "A writer asked for a repair of the table; reconciling it now");
      consumeRepairRequest(this.requests!, requested);
      this.loop.requeue([requested]);
      return;
    }
    if (this.requests && path.dirname(file) === this.requests) return;
    if (file === this.tablesFile) {
      const change = this.loop.loadDesired();
      const any = change.added.length + change.changed.length + change.removed.length > 0;
      this.log[any ? "info" : "debug"]({ event, file, ...change }, any ? "Noticed a change to tables.yaml; reconciling the tables it changed" : "tables.yaml saved without a change to any table");
      this.rescope();
      return;
    }
    const ids = this.scope.concerned(file);
    if (ids.length === 0) {
      // Only a file that no longer matches (a source dropped from tables.yaml a moment ago).
      this.log.debug({ event, file }, "Ignored a change to a file no table declares");
      return;
    }
    this.log.info({ event, file, tables: ids }, "Noticed a change to a source; reconciling the tables that declare it");
    this.loop.requeue(ids);
  }

  /** tables.yaml changed: watch the folders its sources are in now, and only those. */
  private rescope(): void {
    const next = new WatchScope(this.tablesFile, this.loop.tables);
    const before = new Set(this.scope.dirs);
    const after = new Set(next.dirs);
    this.scope = next;
    const add = next.dirs.filter((d) => !before.has(d) && d !== this.requests);
    const drop = [...before].filter((d) => !after.has(d) && d !== this.requests);
    if (add.length > 0) this.watcher.add(add);
    if (drop.length > 0) this.watcher.unwatch(drop);
  }

  close(): Promise<void> {
    return this.watcher.close();
  }
}
