/**
 * `npm run schema`: writes schemas/tables.schema.json from tables.yaml's zod schema (lake/specSchema.ts).
 * Run it after changing lake/spec.ts; tests/unit/specSchema.test.ts fails until the file matches.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { TABLES_SCHEMA_FILE, tablesJsonSchemaText } from "../lake/specSchema";

const file = path.join(__dirname, "..", TABLES_SCHEMA_FILE);
const text = tablesJsonSchemaText();
const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, text);
process.stdout.write(`${TABLES_SCHEMA_FILE}: ${before === text ? "unchanged" : "written"}\n`);
