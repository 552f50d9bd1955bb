/**
 * The light path for Iceberg tables: a small CSV upserted by one Trino MERGE as the admin user,
 * no Spark (POST /ingest?via=trino). It can't add columns, and Trino can't put Lakeform's keys into
 * the snapshot summary, so the commit shows in history without its source; its CSV is landed and
 * journaled like a Spark write's, so a rebuild replays it.
 */
import type { Readable } from "node:stream";
import type { IngestResult } from "../lake/apiReplies";
import { LakeformError } from "../lake/errors";
import type { Sources } from "../lake/sources";
import type { TableSpec } from "../lake/spec";
import { qualifiedTable, quoteIdent, upsertMerge } from "../lake/sql";
import { TrinoQueryError, type TrinoClient } from "../lake/trino";
import { LIGHT_PATH_MAX_BYTES, readBounded } from "./csvStream";
import { checkCsv, checkCsvFitsTable, LIGHT_PATH_MAX_ROWS } from "./validation";

/** What the light path needs of the service. */
export interface LightPathDeps {
  /** Trino as its admin user (the read-only user can't write). */
  trino: TrinoClient;
  sources: Pick<Sources, "landContent" | "journal">;
  /** The refusal of a write into a table the reconciler must repair first, or none (asked when Trino can't describe the table). */
  refusal(t: TableSpec): Promise<LakeformError | undefined>;
  /** The write under the table's lease (LakeService.underLease). */
  underLease<T>(t: TableSpec, purpose: string, write: () => Promise<T>): Promise<T>;
}

/**
 * The light path for Iceberg tables: one Trino MERGE, no Spark. For small batches; it can't add
 * columns, and Trino can't put Lakeform's keys into the snapshot summary, so the commit shows
 * in history without its source (the Spark path records it). Its CSV is landed and journaled,
 * so a table rebuilt after its files were deleted gets these rows back too. A stream is read
 * whole first, up to LIGHT_PATH_MAX_BYTES (more is PAYLOAD_TOO_LARGE: the Spark path takes it).
 */
export async function ingestViaTrino(deps: LightPathDeps, t: TableSpec, input: Buffer | Readable): Promise<IngestResult> {
  if (t.format !== "iceberg") throw new LakeformError("TRINO_PATH_ICEBERG_ONLY", "the Trino path writes Iceberg tables only; Hudi writes go through Spark");
  const csv = Buffer.isBuffer(input) ? input : await readBounded(input, LIGHT_PATH_MAX_BYTES, "a CSV for the Trino path (the Spark path takes larger ones)");
  const body = checkCsv(csv);
  if (body.records.length > LIGHT_PATH_MAX_ROWS) {
    throw new LakeformError("TOO_MANY_ROWS", `the Trino path takes up to ${LIGHT_PATH_MAX_ROWS} rows; use the Spark path for ${body.records.length}`);
  }
  const cols = body.columns;
  const renamed = Object.fromEntries(body.header.map((h, i) => [h, cols[i]]).filter(([h, c]) => h !== c));
  const fq = qualifiedTable("iceberg", t.database, t.name);
  const described = await deps.trino.query(`DESCRIBE ${fq}`).catch(async (err: unknown) => {
    // Trino can't describe a table whose files or metastore entry are gone: a repair pending
    // says so. Trino out of reach (no error of its own), or the job server too, stays as it is.
    if (err instanceof TrinoQueryError && err.errorName) {
      const refusal = await deps.refusal(t);
      if (refusal) throw refusal;
    }
    if (err instanceof TrinoQueryError && err.errorName === "TABLE_NOT_FOUND") {
      throw new LakeformError("TABLE_MISSING", `table ${t.name} is declared but not in the lake yet`, { table: t.name }, { cause: err });
    }
    throw err;
  });
  const types = new Map(described.rows.map((r) => [String(r[0]), String(r[1])]));
  const unknown = cols.filter((c) => !types.has(c));
  if (unknown.length) throw new LakeformError("SCHEMA_REFUSED", `column(s) ${unknown.join(", ")} are not in ${t.name}; new columns go through the Spark path`, { columns: unknown });
  checkCsvFitsTable(body, t);
  // One row per key, the last one winning: MERGE refuses two source rows for one target row.
  const byKey = new Map<string, string[]>();
  for (const r of body.records) byKey.set(JSON.stringify(t.primaryKey.map((k) => r[cols.indexOf(k)])), r);
  try {
    await deps.underLease(t, "api: ingest through Trino", () => deps.trino.query(upsertMerge({ table: fq, keys: t.primaryKey, columns: cols, types, rows: [...byKey.values()] })));
  } catch (err) {
    // Trino refusing the batch as the user's error (a value that doesn't cast to its column's
    // type, …) is a bad CSV; Trino being down or failing stays what it is.
    if (err instanceof TrinoQueryError && err.code === "BAD_STATEMENT") throw new LakeformError("BAD_CSV", `Trino refused the batch: ${err.message}`, {}, { cause: err });
    throw err;
  }
  const snapshots = `iceberg.${quoteIdent(t.database)}.${quoteIdent(`${t.name}$snapshots`)}`;
  const commit = String(await deps.trino.scalar(`SELECT CAST(snapshot_id AS varchar) FROM ${snapshots} ORDER BY committed_at DESC LIMIT 1`));
  // The CSV is landed and journaled like a Spark write, so a rebuild of the table replays it.
  const { source, uri } = await deps.sources.landContent("trino-upload.csv", csv);
  await deps.sources.journal(t.database, t.name, { commit, source: "trino-upload.csv", sourceHash: source.hash, uri, generation: t.generation });
  return { commit, rowsWritten: byKey.size, addedColumns: [], renamed };
}
