/**
 * How a change to a table's spec shows in `pulumi preview`: which fields are applied in place
 * (an update: the reconciler writes what's new) and which would rebuild the table (a replace:
 * its data rewritten in a new layout), which Lakeform refuses. Pure, so it is tested without an engine.
 */
import { partitionChange } from "../../lake/partitioning";
import { IMMUTABLE_FIELDS, type TableSpec } from "../../lake/spec";
import { partitionedHudiRefusal } from "../../reconciler/rebuildPlan";

/** The spec as a Table resource carries it: tables.yaml's entry, sanitised, with its generation. */
export type TableSpecData = Omit<TableSpec, "line">;

/** Changing one of these means rewriting the table in a new layout (the reconciler refuses them too): lake/spec.ts's. */
export const REBUILD_FIELDS = IMMUTABLE_FIELDS;
/** These the reconciler applies in place: new sources are written, policies take effect on the next write. */
export const UPDATE_FIELDS = ["sources", "schemaPolicy", "prune", "orderingField", "deleteWhen", "retain", "targetFileSizeMB", "trash", "onIncompatibleChange"] as const;

export interface TableState {
  tableId: string;
  spec: TableSpecData;
  /** Set by refresh: false when the table was dropped outside Lakeform (drift the reconciler repairs). */
  exists?: boolean;
}

export class RebuildRefused extends Error {
  constructor(
    readonly tableId: string,
    readonly fields: { field: string; from: unknown; to: unknown }[],
  ) {
    super(
      `table ${tableId}: changing ${fields.map((f) => `${f.field} (${show(f.from)} → ${show(f.to)})`).join(", ")} would rebuild the table: ` +
        "drop it and rewrite every source into the new layout. Lakeform refuses to do that as an update. To rebuild it, " +
        "remove the table from tables.yaml with prune: true, run `pulumi up`, then declare it again with the new layout; " +
        "or declare onIncompatibleChange: rebuild on it: the reconciler then rewrites its current rows into the new layout, verifies them and swaps the new table in (the old one kept in the trash).",
    );
    this.name = "RebuildRefused";
  }
}

/** A rebuild the reconciler would refuse whatever the metastore: away from a partitioned Hudi table (reconciler/rebuildPlan.ts). */
export class RebuildUnsafe extends Error {
  constructor(readonly tableId: string, refusal: string) {
    super(refusal);
    this.name = "RebuildUnsafe";
  }
}

function show(v: unknown): string {
  return Array.isArray(v) ? `[${v.join(", ")}]` : String(v);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export interface TableDiff {
  changes: boolean;
  /** Fields changed in place, for the message `up` prints. */
  updates: string[];
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/**
 * The diff of a table's old state against its new inputs. Throws RebuildRefused for a change
 * that would rebuild the table, so `pulumi preview` fails naming the fields and what to do.
 */
export function tableDiff(olds: TableState, news: TableState): TableDiff {
  // With onIncompatibleChange: rebuild a layout change is an update: the reconciler rebuilds the table (reconciler/rebuildPlan.ts).
  if (news.spec.onIncompatibleChange === "rebuild") return rebuildDiff(olds, news);
  // An Iceberg partitioning change is partition evolution, in place (lake/partitioning.ts).
  const evolves = olds.spec.format === news.spec.format && partitionChange(olds.spec.partitionBy, news.spec.partitionBy, news.spec.format) !== "rebuild";
  const rebuild = REBUILD_FIELDS.filter((f) => !same(olds.spec[f], news.spec[f]) && !(f === "partitionBy" && evolves));
  if (rebuild.length > 0) {
    throw new RebuildRefused(
      news.tableId,
      rebuild.map((f) => ({ field: f, from: olds.spec[f], to: news.spec[f] })),
    );
  }
  const updates: string[] = UPDATE_FIELDS.filter((f) => !same(olds.spec[f], news.spec[f]));
  if (evolves && !same(olds.spec.partitionBy, news.spec.partitionBy)) updates.push("partitionBy");
  // A table found dropped by refresh is an update too: `up` waits until the reconciler has repaired it.
  const changes = updates.length > 0 || olds.spec.generation !== news.spec.generation || olds.exists === false;
  return { changes, updates, replaces: [], deleteBeforeReplace: false };
}

/** A table's diff under onIncompatibleChange: rebuild: its layout fields are updates like the rest. */
function rebuildDiff(olds: TableState, news: TableState): TableDiff {
  // Refused on every metastore, so the preview says it: a rebuild away from a partitioned Hudi table.
  if (REBUILD_FIELDS.some((f) => !same(olds.spec[f], news.spec[f]))) {
    const layout = (s: TableSpecData) => ({ format: s.format, primaryKey: s.primaryKey, partitionBy: s.partitionBy });
    const refused = partitionedHudiRefusal(`${news.spec.database}.${news.spec.name}`, layout(olds.spec), layout(news.spec), true);
    if (refused) throw new RebuildUnsafe(news.tableId, refused);
  }
  const updates: string[] = [...UPDATE_FIELDS, ...REBUILD_FIELDS].filter((f) => !same(olds.spec[f], news.spec[f]));
  const changes = updates.length > 0 || olds.spec.generation !== news.spec.generation || olds.exists === false;
  return { changes, updates, replaces: [], deleteBeforeReplace: false };
}
