/**
 * The JSON Schema of tables.yaml, generated from its zod schema (lake/spec.ts) with zod's own
 * z.toJSONSchema: what a YAML editor completes and checks (examples/tables.yaml names it on its
 * first line, `# yaml-language-server: $schema=…`). Committed as schemas/tables.schema.json and
 * regenerated with `npm run schema`; tests/unit/specSchema.test.ts fails when the two differ.
 *
 * It describes what the file may say (zod's input side: defaults optional, a key or a list of
 * them), draft-07 for the editors' validators. What zod checks beyond a schema's reach (a delete
 * marker that is the key, a table declared twice) is still refused by the reconciler, by line.
 */
import * as path from "node:path";
import { z } from "zod";
import { TablesFileSchema } from "./spec";

/** Where the schema is committed, relative to the project directory. */
export const TABLES_SCHEMA_FILE = path.join("schemas", "tables.schema.json");

export function tablesJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(TablesFileSchema, { target: "draft-7", io: "input" }) as Record<string, unknown>;
  return {
    $schema,
    title: "Lakeform tables.yaml",
    description: "The desired state of the lake: the tables the reconciler keeps in line with their CSV sources (README, Tables: tables.yaml).",
    ...rest,
  };
}

/** The file's text: the schema as indented JSON with a final newline. */
export function tablesJsonSchemaText(): string {
  return JSON.stringify(tablesJsonSchema(), null, 2) + "\n";
}
