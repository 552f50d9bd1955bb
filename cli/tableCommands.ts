/**
 * The tables' commands: reconcile (the loop), what the lake holds (status, get, describe,
 * history), what a pass would do (plan), and prunes, undrop and the trash.
 */
import { Argument } from "@commander-js/extra-typings";
import { LakeformError } from "../lake/errors";
import { outputFormat } from "./output";
import { lakeOutputs } from "./outputs";
import { fileOption, outputOption, tablesFileOf, write, type Program } from "./program";

export function addTableCommands(program: Program): void {
  program
    .command("reconcile")
    .description("make the lake match tables.yaml, and keep it so (watches the file and its sources)")
    .addOption(fileOption())
    .option("--once", "one pass over every table, print the status, exit (0 when all in sync)")
    .option("--until-synced", "run until every table is in sync, then exit")
    .option("--timeout <seconds>", "give up after this long (exit 2)")
    .option("--resync <seconds>", "re-check every table this often even without changes", "60")
    .option("--trash-days <days>", "how long a pruned table's files stay undroppable when its spec doesn't say (default: lakeform:reconciler trashDays, else 7)")
    .action(async (opts) => {
      const { reconcileCommand } = await import("./reconcile");
      const code = await reconcileCommand(await lakeOutputs(), { ...opts, file: tablesFileOf(opts) });
      // The loop leaves keep-alive sockets and watchers behind it; exit once output is flushed.
      process.stdout.write("", () => process.exit(code));
    });

  program
    .command("status")
    .description("the services' health, then each table: in sync? rows, last commit, and if not, why")
    .addOption(outputOption())
    .option("--json", "machine-readable (-o json)")
    .option("-w, --watch", "refresh every 2 seconds")
    .action(async (opts) => {
      const { statusCommand } = await import("./status");
      process.exitCode = await statusCommand(await lakeOutputs(), { format: outputFormat(opts), watch: opts.watch });
    });

  program
    .command("get")
    .description("list tables, one line each (kubectl get): NAME FORMAT SYNCED REASON ROWS LAST COMMIT AGE (since the last commit); -o wide for more")
    .addArgument(new Argument("<kind>", "what to list: tables").choices(["tables", "table"]))
    .argument("[names...]", "only these tables (name, or database.name)")
    .addOption(outputOption())
    .addHelpText("after", "\nExamples:\n  lakeform get tables\n  lakeform get tables leads -o wide\n  lakeform get tables -o json | jq '.[].rowCount'\n\nExit status: 0 when every table listed is in sync, 2 when one isn't, 1 before the reconciler's first report.")
    .action(async (kind, names, opts) => {
      const [{ getTablesCommand, parseKind }, { statusFile }, { readStatus }] = await Promise.all([import("./get"), import("../lake/paths"), import("../lake/status")]);
      parseKind(kind);
      const outs = await lakeOutputs();
      process.exitCode = getTablesCommand(readStatus(statusFile(outs.dataDir)), { names, format: outputFormat(opts) }, write);
    });

  program
    .command("describe")
    .description("everything about a table (kubectl describe): its spec, its conditions with their times, columns, files and size, recent commits")
    .addArgument(new Argument("<kind>", "what to describe: table").choices(["table", "tables"]))
    .argument("<table>", "the table (name, or database.name)")
    .addOption(fileOption())
    .addOption(outputOption())
    .option("--commits <n>", "how many recent commits to show", "10")
    .addHelpText("after", "\nExamples:\n  lakeform describe table leads\n  lakeform describe table sales.orders -o yaml")
    .action(async (kind, table, opts) => {
      const [{ describeTableCommand, parseKind }, { statusFile }] = await Promise.all([import("./get"), import("../lake/paths")]);
      parseKind(kind);
      const outs = await lakeOutputs();
      const recent = Number(opts.commits);
      if (!Number.isSafeInteger(recent) || recent < 0) throw new LakeformError("BAD_REQUEST", `--commits ${opts.commits}: not a number of commits`);
      process.exitCode = await describeTableCommand(outs, { table, tablesFile: tablesFileOf(opts), statusFile: statusFile(outs.dataDir), format: outputFormat(opts), recent }, write);
    });

  program
    .command("history")
    .description("a table's commits, oldest first (the lake's own: Hudi's timeline, Iceberg's snapshots), with their source and rows inserted, updated, deleted")
    .argument("<table>", "the table (name, or database.name)")
    .addOption(fileOption())
    .addOption(outputOption())
    .option("--limit <n>", "only the newest n commits")
    .addHelpText("after", "\nExamples:\n  lakeform history leads\n  lakeform history leads --limit 5 -o json")
    .action(async (table, opts) => {
      const [{ historyCommand }, { statusFile }] = await Promise.all([import("./get"), import("../lake/paths")]);
      const outs = await lakeOutputs();
      const limit = opts.limit === undefined ? undefined : Number(opts.limit);
      if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw new LakeformError("BAD_REQUEST", `--limit ${opts.limit}: not a number of commits`);
      process.exitCode = await historyCommand(outs, { table, tablesFile: tablesFileOf(opts), statusFile: statusFile(outs.dataDir), format: outputFormat(opts), limit }, write);
    });

  program
    .command("plan")
    .description("what a pass would do to each table, before anything is written: pending sources with bytes and rows, the schema change (additive, refused, needs a rewrite), deletes, maintenance and prunes due")
    .argument("[tables...]", "only these tables (name, or database.name)")
    .addOption(fileOption())
    .addOption(outputOption())
    .option("--json", "machine-readable (-o json)")
    .addHelpText("after", "\nExamples:\n  lakeform plan\n  lakeform plan leads -o json | jq '.tables[0].writes'\n\nRows and deletes are counted in a sample of each source's first MiB (exact when that is all of it, ~ otherwise).\nExit status: 0 nothing to do, 2 changes pending, 1 a change would be refused or a table can't be observed.")
    .action(async (names, opts) => {
      const { planCommand } = await import("./plan");
      process.exitCode = await planCommand(await lakeOutputs(), { tablesFile: tablesFileOf(opts), names, format: outputFormat(opts) }, write);
    });

  program
    .command("prune")
    .description("the prunes held until confirmed (a tables.yaml change that removes more than one prune: true table, or every table); --confirm lets them go")
    .argument("[tables...]", "only these tables (each must be held)")
    .option("--confirm", "confirm the held prunes: all of them, or the tables named")
    .option("--status <file>", "the reconciler's status file (default: the stack's)")
    .option("--wait <seconds>", "how long to wait for the reconciler to prune them", "60")
    .action(async (tables, opts) => {
      const [{ pruneCommand }, { statusFile }] = await Promise.all([import("./trash"), import("../lake/paths")]);
      const file = opts.status ?? statusFile((await lakeOutputs()).dataDir);
      process.exitCode = await pruneCommand({ statusFile: file, confirm: opts.confirm, tables, waitSec: Number(opts.wait) }, write);
    });

  program
    .command("undrop")
    .description("bring a pruned table back from the trash, with its rows, history and time travel (declare it in tables.yaml again first)")
    .argument("<table>", "the table (name, or database.name)")
    .addOption(fileOption())
    .action(async (table, opts) => {
      const [{ undropCommand }, { createTrashDeps }, { createLogger }] = await Promise.all([import("./trash"), import("../reconciler/runtime"), import("../lake/logger")]);
      await undropCommand(createTrashDeps(await lakeOutputs(), { log: createLogger("lakeform-undrop"), role: "cli" }), { file: tablesFileOf(opts), table }, write);
    });

  program
    .command("quarantine")
    .description("rows expectations quarantined (tables.yaml expect: action quarantine), kept in <table>__quarantine")
    .command("replay")
    .description("re-apply a table's quarantined rows with its expectations as tables.yaml has them now; the rows applied (or quarantined again) leave the quarantine table")
    .argument("<table>", "the table (name, or database.name)")
    .addOption(fileOption())
    .addOption(outputOption())
    .addHelpText("after", "\nExamples:\n  lakeform quarantine replay orders\n  lakeform quarantine replay orders -o json")
    .action(async (table, opts) => {
      const [{ createLakeService }, { formatReplay }] = await Promise.all([import("../api/runtime"), import("./quarantine")]);
      const res = await createLakeService(await lakeOutputs(), tablesFileOf(opts)).replayQuarantine(table);
      write(outputFormat(opts) === "json" ? JSON.stringify(res, null, 2) + "\n" : formatReplay(res) + "\n");
      process.exitCode = 0;
    });

  const trashCmd = program
    .command("trash")
    .description("pruned tables whose files are kept: what can be undropped, and until when")
    .addOption(outputOption())
    .option("--json", "machine-readable (-o json)")
    .action(async (opts) => {
      const [{ trashListCommand }, { createTrashDeps }, { createLogger }] = await Promise.all([import("./trash"), import("../reconciler/runtime"), import("../lake/logger")]);
      const format = outputFormat(opts);
      process.exitCode = await trashListCommand(createTrashDeps(await lakeOutputs(), { log: createLogger("lakeform-trash"), role: "cli" }), { format }, write);
    });
  trashCmd
    .command("purge")
    .description("delete a trashed table's files and journal now (it can't be undropped after this)")
    .argument("<table>", "the table (name, or database.name)")
    .action(async (table) => {
      const [{ trashPurgeCommand }, { createTrashDeps }, { createLogger }] = await Promise.all([import("./trash"), import("../reconciler/runtime"), import("../lake/logger")]);
      process.exitCode = await trashPurgeCommand(createTrashDeps(await lakeOutputs(), { log: createLogger("lakeform-trash"), role: "cli" }), table, write);
    });
}
