/**
 * The `lakeform` program itself, before its commands: its name, version and global option
 * (--stack), and the options and helpers several commands share. The commands are added by
 * cli/stackCommands.ts, cli/tableCommands.ts and cli/serviceCommands.ts; cli/main.ts runs it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, Option } from "@commander-js/extra-typings";
import { LakeformError } from "../lake/errors";
import { projectDir, stackTablesFile } from "../lake/stackData";
import { OUTPUT_FORMATS } from "./output";

const version = (JSON.parse(fs.readFileSync(path.join(projectDir(), "package.json"), "utf8")) as { version: string }).version;

// exitOverride: a usage error throws instead of exiting, so its exit code comes from the table too.
export const program = new Command("lakeform")
  .description("A data lakehouse from code")
  .version(version, "-V, --version", "print lakeform's version")
  .option("--stack <name>", "the stack to work on (default: $LAKEFORM_STACK, else dev)")
  .showHelpAfterError()
  .exitOverride();

export type Program = typeof program;

// --stack is LAKEFORM_STACK for this run: everything that finds the stack's files reads it there.
program.hook("preAction", (cmd) => {
  const stack = cmd.opts().stack;
  if (stack !== undefined) {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new LakeformError("BAD_REQUEST", `--stack ${stack}: not a stack name (letters, digits, _ . -)`);
    process.env.LAKEFORM_STACK = stack;
  }
});

export const write = (s: string) => process.stdout.write(s);

/** `-o table|wide|json|yaml`, on every reading command. */
export const outputOption = () => new Option("-o, --output <format>", "how to print it: table (default), wide (more columns), json, yaml").choices(OUTPUT_FORMATS);

/** `-f <tables.yaml>`: when not given, the stack's lakeform:tablesFile (the one its reconciler watches). */
export const fileOption = () => new Option("-f, --file <path>", "the desired state (default: the stack's lakeform:tablesFile, examples/tables.yaml unless set)");
export const tablesFileOf = (opts: { file?: string }) => (opts.file !== undefined ? path.resolve(opts.file) : stackTablesFile());
