/**
 * Building Trino SQL from values Lakeform holds: identifiers quoted, literals escaped (the Trino
 * client has no bind parameters).
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
