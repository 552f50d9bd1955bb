/**
 * `lakeform:index:Table`: one table of the lake as a Pulumi resource. The stack declares one per
 * entry of its tables.yaml (tablesFromFile); a program may also declare `new Table(...)` itself.
 * Either way tables.yaml stays the single source of truth: the reconciler service acts on it, and
 * the resource waits until the reconciler reports the table Synced at its spec's generation.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { statusFile } from "../../lake/paths";
import { loadTables, parseTables, tableId, type TableSpec, type TableSpecInput } from "../../lake/spec";
import { implProvider } from "../dynamic";
import type { TableSpecData } from "./diff";

const IMPL = path.join(__dirname, "impl");

/** Where the tables of one lakehouse are declared and reported. */
export interface TablesTarget {
  /** The tables.yaml the reconciler service watches (absolute). */
  tablesFile: string;
  /** The stack's data directory (the reconciler's status file is under it). */
  dataDir: string;
  warehouseBucket: string;
}

export interface TableArgs {
  target: TablesTarget;
  /** The table, as an entry of tables.yaml is written (name, format, primaryKey, sources, ...). */
  spec: TableSpecInput;
  /** How long create/update waits for the reconciler to report the table Synced (default 900 s). */
  timeoutSec?: number;
}

/** Internal: a table that tables.yaml itself declares (its entry is not written by the resource). */
interface FileTableArgs {
  target: TablesTarget;
  parsed: TableSpec;
  timeoutSec?: number;
}

export const TABLE_TIMEOUT_SEC = 900;

function specData(t: TableSpec): TableSpecData {
  const { line: _line, ...rest } = t;
  return JSON.parse(JSON.stringify(rest)) as TableSpecData;
}

/**
 * The table's provider: implProvider's, with a check that shows the table's data plan under the
 * resource (impl.ts showDataPlan). Check runs for every table a preview or an up looks at, a new one
 * too (diff runs only for tables already in the state). Serialized on its own: self-contained.
 */
function tableProvider(): pulumi.dynamic.ResourceProvider {
  const impl = IMPL;
  return {
    ...implProvider(IMPL, "table"),
    check: (olds, news) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("tsx/cjs");
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(impl).table.check(olds, news);
    },
  };
}

/** The dynamic resource that does the work: diff, wait for Synced, outputs (see impl.ts). */
class TableSync extends pulumi.dynamic.Resource {
  declare readonly format: pulumi.Output<string>;
  declare readonly location: pulumi.Output<string>;
  declare readonly rows: pulumi.Output<number | null>;
  declare readonly lastCommit: pulumi.Output<string | null>;
  declare readonly lastCommitTime: pulumi.Output<string | null>;
  declare readonly exists: pulumi.Output<boolean>;

  constructor(name: string, inputs: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
    super(
      tableProvider(),
      name,
      { ...inputs, format: undefined, location: undefined, rows: undefined, lastCommit: undefined, lastCommitTime: undefined, exists: undefined },
      opts,
      "lakeform",
      "TableSync",
    );
  }
}

/** A table of the lake: format, location, rows and last commit as the reconciler reports them. */
export class Table extends pulumi.ComponentResource {
  readonly format: pulumi.Output<string>;
  readonly location: pulumi.Output<string>;
  readonly rows: pulumi.Output<number | null>;
  readonly lastCommit: pulumi.Output<string | null>;
  readonly lastCommitTime: pulumi.Output<string | null>;

  constructor(name: string, args: TableArgs | FileTableArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:Table", name, {}, opts);
    let parsed: TableSpec;
    let declared: Record<string, unknown> | undefined;
    if ("parsed" in args) {
      parsed = args.parsed;
    } else {
      // Sanitised and hashed exactly as the reconciler will when it reads the entry back.
      declared = JSON.parse(JSON.stringify(args.spec)) as Record<string, unknown>;
      parsed = parseTables(stringify({ apiVersion: "lakeform/v1", tables: [declared] }), args.target.tablesFile).tables[0];
    }
    const sync = new TableSync(
      `${name}-sync`,
      {
        tableId: tableId(parsed),
        spec: specData(parsed),
        tablesFile: args.target.tablesFile,
        statusFile: statusFile(args.target.dataDir),
        warehouseBucket: args.target.warehouseBucket,
        timeoutSec: args.timeoutSec ?? TABLE_TIMEOUT_SEC,
        declared,
      },
      // The engine waits for the component's dependencies only if its children say so too.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.format = sync.format;
    this.location = sync.location;
    this.rows = sync.rows;
    this.lastCommit = sync.lastCommit;
    this.lastCommitTime = sync.lastCommitTime;
    this.registerOutputs({ format: this.format, location: this.location, rows: this.rows, lastCommit: this.lastCommit });
  }
}

/**
 * One Table per entry of the target's tables.yaml. An invalid file fails the program with the
 * file, line and field (as the reconciler reports it).
 */
export function tablesFromFile( target: TablesTarget, opts: pulumi.ComponentResourceOptions & { timeoutSec?: number }): Table[] {
  const { timeoutSec, ...resourceOpts } = opts;
  return loadTables(target.tablesFile).tables.map(
    (t) => new Table(`${t.database}.${t.name}`, { target, parsed: t, timeoutSec }, resourceOpts),
  );
}

export { tableDiff, RebuildRefused, RebuildUnsafe, REBUILD_FIELDS, UPDATE_FIELDS } from "./diff";
