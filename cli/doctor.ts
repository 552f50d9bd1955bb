/**
 * `lakeform doctor`: the stack's versions against the matrix its engines can read, and every
 * connection from every engine's side (lake/doctor.ts), printed with what's wrong and how to fix
 * it. `lakeform up` runs it once the services are up and fails with its findings.
 *
 * Light at load time, like every command: lake/doctor.ts (the AWS SDK, Trino's client) is loaded
 * when the command runs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Option } from "@commander-js/extra-typings";
import type { DoctorReport } from "../lake/doctor";
import { LakeformError } from "../lake/errors";
import type { LakeOutputs } from "../lake/outputKeys";
import { stackName, stackTablesFile } from "../lake/stackData";
import { OUTPUT_FORMATS, outputFormat, serialize, type OutputFormat } from "./output";
import { lakeOutputs } from "./outputs";
import type { Program } from "./program";

export interface DoctorOptions {
  stack: string;
  /** tables.yaml: its tables' files are checked too (absent: the services only). */
  tablesFile?: string;
  /** A JSON file overriding parts of the matrix (lake/doctor.ts MatrixSchema). */
  matrixFile?: string;
  format: OutputFormat;
}

export async function readMatrixFile(file: string | undefined) {
  if (file === undefined) return undefined;
  const { matrixWith } = await import("../lake/doctor");
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new LakeformError("BAD_REQUEST", `--matrix ${file}: not a JSON file (${(err as Error).message})`);
  }
  try {
    return matrixWith(raw);
  } catch (err) {
    throw new LakeformError("BAD_REQUEST", `--matrix ${file}: ${(err as Error).message}`);
  }
}

/** The report; a tables.yaml that can't be read is one more problem, not the end of the checks. */
export async function doctorReport(lake: LakeOutputs, opts: Omit<DoctorOptions, "format">): Promise<DoctorReport> {
  const [{ runDoctor }, { loadTables }] = await Promise.all([import("../lake/doctor"), import("../lake/spec")]);
  const matrix = await readMatrixFile(opts.matrixFile);
  let tables: ReturnType<typeof loadTables>["tables"] = [];
  let specProblem: string | undefined;
  if (opts.tablesFile !== undefined && fs.existsSync(opts.tablesFile)) {
    try {
      tables = loadTables(opts.tablesFile).tables;
    } catch (err) {
      specProblem = (err as Error).message;
    }
  }
  const r = await runDoctor({ stack: opts.stack, lake, tables, matrix });
  if (specProblem !== undefined) {
    r.checks.push({ id: "tables", from: "lakeform", to: "tables.yaml", status: "problem", detail: specProblem, fix: `fix ${opts.tablesFile}: its tables' files weren't checked` });
    r.problems++;
  }
  return r;
}

/** Exit status: 0 nothing wrong, 1 something wrong, 6 only services that don't answer (retry once they are back). */
export async function doctorCommand(lake: LakeOutputs, opts: DoctorOptions, write: (s: string) => void): Promise<number> {
  const { doctorExitCode, formatDoctor } = await import("../lake/doctor");
  const r = await doctorReport(lake, opts);
  write(opts.format === "json" || opts.format === "yaml" ? serialize(r, opts.format) : formatDoctor(r));
  return doctorExitCode(r);
}

/** What `lakeform up` does once the services are up: the doctor, and its findings as up's failure. */
export async function doctorAfterUp(lake: LakeOutputs, write: (s: string) => void): Promise<number> {
  const { doctorExitCode, formatDoctor } = await import("../lake/doctor");
  write("\n");
  const r = await doctorReport(lake, { stack: stackName(), tablesFile: stackTablesFile() });
  write(formatDoctor(r));
  const code = doctorExitCode(r);
  if (code !== 0) process.stderr.write(`lakeform: up: the services are up, but lakeform doctor found ${r.problems} problem(s), above: fix them (lakeform up --no-doctor skips the doctor)\n`);
  return code;
}

/** The command, registered on the program by cli/main.ts. */
export function registerDoctor(program: Program): void {
  program
    .command("doctor")
    .description("check the stack: versions against the matrix the engines can read (Hudi table version and type, Iceberg format version, metastore, Spark's bundles) and every connection from every engine's side (Lakeform, Spark, Trino → S3 and the metastore), with how to fix what's wrong")
    .option("-f, --file <path>", "the tables whose files to check (default: the stack's lakeform:tablesFile)")
    .option("--matrix <file.json>", "check against another version matrix (JSON: any of spark, scala, hudi, iceberg, trino, trinoHudiTableVersions, trinoHudiTableTypes, trinoIcebergFormatVersions, metastoreMax)")
    .addOption(new Option("-o, --output <format>", "how to print it: table (default), json, yaml").choices(OUTPUT_FORMATS))
    .option("--json", "machine-readable (-o json)")
    .addHelpText(
      "after",
      "\nExamples:\n  lakeform doctor\n  lakeform doctor -o json | jq '.checks[] | select(.status == \"problem\")'\n\nExit status: 0 nothing wrong (warnings are printed), 1 a problem found, 6 only services that don't answer (retry once they are back).",
    )
    .action(async (opts) => {
      const tablesFile = opts.file !== undefined ? path.resolve(opts.file) : stackTablesFile();
      const code = await doctorCommand(await lakeOutputs(), { stack: stackName(), tablesFile, matrixFile: opts.matrix, format: outputFormat(opts) }, (s) => process.stdout.write(s));
      // Probes left to finish on their own (a service that didn't answer in time) must not hold the exit.
      process.stdout.write("", () => process.exit(code));
    });
}
