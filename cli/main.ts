#!/usr/bin/env node
/**
 * The `lakeform` command. Each command loads what it needs when it runs (the Pulumi SDK, the AWS
 * SDK, the reconciler, fastify are heavy), so `--help`, `status` and `query` answer at once; the
 * stack outputs come from the cache `up` leaves in the stack's data directory (cli/outputs.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Argument, Command, CommanderError, Option } from "@commander-js/extra-typings";
// Small and free of heavy imports: every failure's exit code comes from its code.
import { asLakeformError, ERROR_CODES, LakeformError } from "../lake/errors";
import { projectDir, stackName, stackTablesFile } from "../lake/stackData";
import { exitQuietlyOnClosedPipe, OUTPUT_FORMATS, outputFormat, serialize } from "./output";
import { lakeOutputs, outputsFile } from "./outputs";

const version = (JSON.parse(fs.readFileSync(path.join(projectDir(), "package.json"), "utf8")) as { version: string }).version;

// exitOverride: a usage error throws instead of exiting, so its exit code comes from the table too.
export const program = new Command("lakeform")
  .description("A data lakehouse from code")
  .version(version, "-V, --version", "print lakeform's version")
  .option("--stack <name>", "the stack to work on (default: $LAKEFORM_STACK, else dev)")
  .showHelpAfterError()
  .exitOverride();

// --stack is LAKEFORM_STACK for this run: everything that finds the stack's files reads it there.
program.hook("preAction", (cmd) => {
  const stack = cmd.opts().stack;
  if (stack !== undefined) {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new LakeformError("BAD_REQUEST", `--stack ${stack}: not a stack name (letters, digits, _ . -)`);
    process.env.LAKEFORM_STACK = stack;
  }
});

const write = (s: string) => process.stdout.write(s);

/** `-o table|wide|json|yaml`, on every reading command. */
const outputOption = () => new Option("-o, --output <format>", "how to print it: table (default), wide (more columns), json, yaml").choices(OUTPUT_FORMATS);

/** `-f <tables.yaml>`: when not given, the stack's lakeform:tablesFile (the one its reconciler watches). */
const fileOption = () => new Option("-f, --file <path>", "the desired state (default: the stack's lakeform:tablesFile, examples/tables.yaml unless set)");
const tablesFileOf = (opts: { file?: string }) => (opts.file !== undefined ? path.resolve(opts.file) : stackTablesFile());

/** The outputs `lakeform outputs` prints as [secret] unless --show-secrets. */
const SECRET_OUTPUTS = ["s3SecretKey", "apiToken", "apiReadToken", "trinoPassword", "trinoReadPassword", "jobServerSecret"] as const;

/** `lakeform api`'s limit flags (the services component passes lakeform:api.* as these) as ApiLimits; absent ones keep the defaults. */
function apiLimitFlags(opts: { queryTimeout?: string; queryMaxRows?: string; queryMaxOffset?: string; jsonLimit?: string; csvLimit?: string }) {
  const flags = { queryTimeoutSec: opts.queryTimeout, queryMaxRows: opts.queryMaxRows, queryMaxOffset: opts.queryMaxOffset, jsonBodyBytes: opts.jsonLimit, csvBodyBytes: opts.csvLimit };
  const out: Record<string, number> = {};
  for (const [key, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    const n = Number(raw);
    const least = key === "queryMaxOffset" ? 0 : 1;
    if (!Number.isSafeInteger(n) || n < least) throw new LakeformError("BAD_REQUEST", `lakeform api: ${key} must be a whole number of at least ${least}, not ${raw}`);
    out[key] = n;
  }
  return out;
}

program
  .command("up")
  .description("provision the lakehouse (S3, Hive Metastore, Spark, Trino, the reconciler and the API) and wait until every service is healthy; refreshes first, so a service found dead is started again")
  .option("--no-refresh", "don't compare the state with the running services first")
  .action(async (opts: { refresh: boolean }) => {
    const { selectStack } = await import("../stacks/automation");
    const stack = await selectStack();
    // Refresh first (pulumi up --refresh): a dead or unhealthy service reads as running=false,
    // which its provider's diff turns into an update that starts it again.
    const res = await stack.up({ onOutput: write, color: "auto", refresh: opts.refresh });
    // The command line reads these from now on instead of asking Pulumi (cli/outputs.ts).
    const [{ toLakeOutputs }, { writeOutputsCache }] = await Promise.all([import("../lake/outputKeys"), import("../lake/stackData")]);
    writeOutputsCache(outputsFile(), toLakeOutputs(Object.fromEntries(Object.entries(res.outputs).map(([k, v]) => [k, v.value]))));
    write(`\nlakehouse ${res.summary.result}: ${JSON.stringify(res.summary.resourceChanges ?? {})}\n`);
  });

program
  .command("preview")
  .description("show what `up` would change")
  .action(async () => {
    const { selectStack } = await import("../stacks/automation");
    const stack = await selectStack();
    await stack.preview({ onOutput: write, diff: true });
  });

program
  .command("refresh")
  .description("compare the state with the running services (a dead process shows up here)")
  .action(async () => {
    const { selectStack } = await import("../stacks/automation");
    const stack = await selectStack();
    await stack.refresh({ onOutput: write });
  });

program
  .command("destroy")
  .description("stop every service and remove what `up` created (table data in the data dir stays unless forceDestroy); asks first on a terminal, needs --yes without one")
  .option("-y, --yes", "don't ask: go ahead (scripts and CI, which have no terminal to ask on)")
  .action(async (opts) => {
    const { confirm } = await import("./confirm");
    if (!(await confirm(`lakeform destroy stops every service of stack ${stackName()} and removes what \`up\` created`, { yes: opts.yes }))) {
      process.stderr.write("lakeform: destroy: not confirmed, nothing done\n");
      process.exitCode = 1;
      return;
    }
    const { selectStack } = await import("../stacks/automation");
    const stack = await selectStack();
    await stack.destroy({ onOutput: write });
    (await import("node:fs")).rmSync(outputsFile(), { force: true });
  });

program
  .command("outputs")
  .description("print the lakehouse's endpoints, or one of them (add --show-secrets for the S3 keys, the API tokens and the services' passwords)")
  .argument("[key]", "print only this output's value, as it is (for scripts: $(lakeform outputs trinoEndpoint))")
  .option("--show-secrets", "include the secrets: S3 secret key, API tokens (apiReadToken reads, apiToken writes), Trino passwords, the job server's secret")
  .addOption(outputOption())
  .action(async (key, opts) => {
    const { outputsCommand } = await import("./outputs");
    process.exitCode = outputsCommand(await lakeOutputs(), { key, showSecrets: opts.showSecrets, format: outputFormat(opts), secretKeys: SECRET_OUTPUTS }, write);
  });

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

program
  .command("logs")
  .description("the services' logs, all of them interleaved by time (each line prefixed with its service) or the ones named: pretty on a terminal, JSON lines when piped")
  .addArgument(new Argument("[services...]", "which services (default: all)").choices(["s3", "metastore", "spark", "trino", "reconciler", "api"]))
  .option("-f, --follow", "keep printing new lines")
  .option("--since <when>", "only lines from this far back (30s, 10m, 2h, 1d) or since an ISO-8601 time")
  .option("-n, --tail <lines>", "only the last lines (of all shown, after --since)")
  .option("--json", "JSON lines even on a terminal")
  .addHelpText("after", "\nExamples:\n  lakeform logs --tail 50            every service, the last 50 lines\n  lakeform logs reconciler api -f    two services, following\n  lakeform logs spark --since 10m")
  .action(async (services, opts) => {
    const { logsCommand } = await import("./logs");
    const { stackDataDir } = await import("../lake/stackData");
    const tail = opts.tail === undefined ? undefined : Number(opts.tail);
    process.exitCode = await logsCommand(stackDataDir(), services, { follow: opts.follow, since: opts.since, tail, pretty: opts.json ? false : undefined });
  });

program
  .command("query")
  .description("run a read-only SQL query through Trino and print the result as a table")
  .argument("<sql>", "the query")
  .option("--json", "rows as JSON")
  .action(async (sql, opts) => {
    const outs = await lakeOutputs();
    const { stackTrino } = await import("../lake/trino");
    const result = await stackTrino(outs, "readOnly").query(sql);
    if (opts.json) write(JSON.stringify(result, null, 2) + "\n");
    else write((await import("./render")).renderTable(result) + "\n");
  });

program
  .command("api")
  .description("serve the REST API (OpenAPI docs at /docs)")
  .addOption(fileOption())
  .option("-p, --port <port>", "port to listen on", "8090")
  .option("--host <host>", "address to bind", "127.0.0.1")
  .option("--allowed-host <names...>", "host names requests may be addressed to besides 127.0.0.1, localhost and [::1] (and --host's address); others are 403")
  .option("--query-timeout <seconds>", "POST /query's statement timeout (lakeform:api.queryTimeoutSec)")
  .option("--query-max-rows <n>", "POST /query's largest limit (lakeform:api.queryMaxRows)")
  .option("--query-max-offset <n>", "POST /query's largest offset (lakeform:api.queryMaxOffset)")
  .option("--json-limit <bytes>", "the largest JSON body (lakeform:api.jsonLimitBytes)")
  .option("--csv-limit <bytes>", "the largest CSV ingest, streamed to the object store (lakeform:api.csvLimitBytes)")
  .action(async (opts) => {
    const outs = await lakeOutputs();
    const [{ createLogger }, { apiTokens, createLakeService }, { buildApi }] = await Promise.all([
      import("../lake/logger"),
      import("../api/runtime"),
      import("../api/server"),
    ]);
    const log = createLogger("lakeform-api");
    const limits = apiLimitFlags(opts);
    // A specific address to bind is a name requests may carry; a wildcard one (0.0.0.0, ::) is not.
    const bound = ["0.0.0.0", "::", "[::]"].includes(opts.host) ? [] : [opts.host.includes(":") && !opts.host.startsWith("[") ? `[${opts.host}]` : opts.host];
    const allowedHosts = [...bound, ...((opts.allowedHost as string[] | undefined) ?? [])];
    const app = await buildApi({ lake: createLakeService(outs, tablesFileOf(opts)), tokens: apiTokens(outs), limits, logger: log, allowedHosts, metastoreUri: outs.metastoreUri });
    await app.listen({ port: Number(opts.port), host: opts.host });
    const stop = async () => {
      await app.close();
      process.exit(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });

program
  .command("shell")
  .description("LakeShell: select, insert, travel, history, describe, tables, status")
  .addOption(fileOption())
  .option("-c, --command <statements>", "run these statements and exit")
  .option("--json", "print results as JSON")
  .action(async (opts) => {
    const outs = await lakeOutputs();
    const [{ createLakeService }, { runShell }] = await Promise.all([import("../api/runtime"), import("./shell")]);
    process.exitCode = await runShell(createLakeService(outs, tablesFileOf(opts)), { command: opts.command, json: opts.json });
  });

program
  .command("supervise", { hidden: true })
  .description("run a command and start it again whenever it exits (the local runtime's reconciler and API run under it)")
  .requiredOption("--service <name>", "the service's name, for its log lines")
  .requiredOption("--state <file>", "where to report the supervised pid and restarts")
  .option("--log <file>", "write the command's output and the supervisor's lines to this log, rotated by size")
  .option("--log-max-bytes <n>", "rotate the log before it passes this size", (v) => Number(v))
  .option("--log-keep <n>", "rotated logs kept (<log>.1 …)", (v) => Number(v))
  .argument("<command...>", "the command, after --")
  .action(async (command, opts) => {
    const [{ supervise }, { LOG_ROTATION_DEFAULTS }] = await Promise.all([import("./supervise"), import("../lake/rotatingLog")]);
    const log = opts.log ? { file: opts.log, maxBytes: opts.logMaxBytes ?? LOG_ROTATION_DEFAULTS.maxBytes, keep: opts.logKeep ?? LOG_ROTATION_DEFAULTS.keep } : undefined;
    process.exit(await supervise({ service: opts.service, stateFile: opts.state, command, log }));
  });

program
  .command("completion")
  .description("print shell completion for bash, zsh or fish (generated from the commands themselves)")
  .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(["bash", "zsh", "fish"]))
  .addHelpText("after", "\nExamples:\n  source <(lakeform completion bash)          # in ~/.bashrc\n  source <(lakeform completion zsh)           # in ~/.zshrc\n  lakeform completion fish > ~/.config/fish/completions/lakeform.fish")
  .action(async (shell) => {
    const { completionScript } = await import("./completion");
    write(completionScript(program as never, shell));
  });

program
  .command("__table-names", { hidden: true })
  .description("the stack's table names, one a line, for shell completion (from the reconciler's status file; nothing when there is none)")
  .action(async () => {
    const [{ tableNames }, { readStatus }, { statusFile }, { readOutputsCache, stackDataDir }] = await Promise.all([
      import("./completion"),
      import("../lake/status"),
      import("../lake/paths"),
      import("../lake/stackData"),
    ]);
    // Completion must answer at once and never ask Pulumi: the stack's files only.
    const dataDir = readOutputsCache(outputsFile())?.dataDir ?? stackDataDir();
    const ids = Object.keys(readStatus(statusFile(dataDir))?.tables ?? {});
    if (ids.length) write(tableNames(ids).join("\n") + "\n");
  });

program.addHelpText(
  "after",
  `
Examples:
  lakeform up                                  bring the lakehouse up (the stack: --stack, else $LAKEFORM_STACK, else dev)
  lakeform status                              services, then tables: in sync? rows, last commit, why not
  lakeform get tables -o wide                  one line per table
  lakeform describe table leads                spec, conditions, columns, files, recent commits
  lakeform history leads -o json               the table's commits
  lakeform logs --tail 100 -f                  every service's log, interleaved by time
  lakeform query "SELECT count(*) FROM hudi.default.leads"
  lakeform outputs trinoEndpoint               one output's value
  lakeform --stack e2e destroy --yes           stop a stack without being asked (scripts, CI)

Reading commands (status, get, describe, history, outputs, trash) take -o table|wide|json|yaml.
-f defaults to the stack's lakeform:tablesFile.

Exit status:
  0  done (status, get: every table in sync)
  1  failed (anything else; status, get: no report from the reconciler yet)
  2  bad input: a usage error, a bad option or tables.yaml (status, get, reconcile --once: a table not in sync)
  3  not there: an unknown table, commit or file
  4  unauthorized
  5  refused data: a bad CSV, a refused schema change
  6  a service unavailable: retry when it is back`,
);

/**
 * Every failure leaves with the exit code of its error code (lake/errorCodes.json): 2 for bad
 * input, 3 for something that isn't there, 4 unauthorized, 5 refused data, 6 a service
 * unavailable, 1 anything else. Commander has already printed its own usage errors.
 */
if (require.main === module) {
  exitQuietlyOnClosedPipe();
  program.parseAsync(process.argv).catch((err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : ERROR_CODES.BAD_REQUEST.exit);
    const e = asLakeformError(err);
    process.stderr.write(`lakeform: ${e.code === "INTERNAL" ? "" : `${e.code}: `}${e.message}\n`);
    process.exit(e.exitCode);
  });
}
