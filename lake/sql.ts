/**
 * Building Trino SQL from values Lakeform holds: identifiers quoted, literals escaped (the Trino
 * client has no bind parameters), and the light path's MERGE.
 */

/** A quoted identifier: "name", with inner quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** catalog."database"."table" (the catalog is one of Lakeform's own, never user input). */
export function qualifiedTable(catalog: "hive" | "hudi" | "iceberg", database: string, table: string): string {
  return `${catalog}.${quoteIdent(database)}.${quoteIdent(table)}`;
}

/** A string literal: 'text', with inner quotes doubled. */
export function stringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A CSV field as a value of a column's Trino type: an empty field is NULL, anything else a cast string. */
export function castLiteral(value: string, type: string): string {
  return value === "" ? `CAST(NULL AS ${type})` : `CAST(${stringLiteral(value)} AS ${type})`;
}

export interface MergeInput {
  /** The qualified target table (qualifiedTable). */
  table: string;
  /** Key columns: a source row updates the target row with the same key, or is inserted. */
  keys: string[];
  /** The batch's columns, in the order of each row's fields. */
  columns: string[];
  /** Each column's Trino type (from DESCRIBE), for the casts. */
  types: ReadonlyMap<string, string>;
  /** At most one row per key: MERGE refuses two source rows for one target row. */
  rows: string[][];
}

/** One MERGE upserting a batch of rows: updates rows whose key exists, inserts the others. */
export function upsertMerge({ table, keys, columns, types, rows }: MergeInput): string {
  const typeOf = (c: string) => {
    const t = types.get(c);
    if (!t) throw new Error(`no type for column ${c}`);
    return t;
  };
  const cols = columns.map(quoteIdent);
  const values = rows.map((r) => `(${r.map((v, i) => castLiteral(v, typeOf(columns[i]))).join(", ")})`).join(",\n");
  return (
    `MERGE INTO ${table} t USING (VALUES ${values}) AS s(${cols.join(", ")}) ` +
    `ON ${keys.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(" AND ")} ` +
    `WHEN MATCHED THEN UPDATE SET ${cols.map((c) => `${c} = s.${c}`).join(", ")} ` +
    `WHEN NOT MATCHED THEN INSERT (${cols.join(", ")}) VALUES (${cols.map((c) => `s.${c}`).join(", ")})`
  );
}
