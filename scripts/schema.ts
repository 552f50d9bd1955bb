/**
 * `npm run schema`: writes the generated contracts. schemas/tables.schema.json from tables.yaml's
 * zod schema (lake/specSchema.ts); the job server's request schema and constants from
 * lake/jobServerContract.ts (into jobs/, which is all the job server has). Run it after changing
 * lake/spec.ts, lake/errorCodes.json or lake/jobServerContract.ts; tests/unit/specSchema.test.ts
 * and tests/unit/jobServerContract.test.ts fail until the files match.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { JOB_SERVER_CONSTANTS_FILE, JOB_SERVER_SCHEMA_FILE, jobServerConstantsText, jobServerSchemaText } from "../lake/jobServerContract";
import { TABLES_SCHEMA_FILE, tablesJsonSchemaText } from "../lake/specSchema";

for (const [rel, text] of [
  [TABLES_SCHEMA_FILE, tablesJsonSchemaText()],
  [JOB_SERVER_SCHEMA_FILE, jobServerSchemaText()],
  [JOB_SERVER_CONSTANTS_FILE, jobServerConstantsText()],
] as const) {
  const file = path.join(__dirname, "..", rel);
  const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  process.stdout.write(`${rel}: ${before === text ? "unchanged" : "written"}\n`);
}
