#!/usr/bin/env node
/**
 * The `lakeform` command. Each command loads what it needs when it runs (the Pulumi SDK, the AWS
 * SDK, the reconciler, fastify are heavy), so `--help`, `status` and `query` answer at once; the
 * stack outputs come from the cache `up` leaves in the stack's data directory (cli/outputs.ts).
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
// Small and free of heavy imports: every failure's exit code comes from its code.
import { asLakeformError, ERROR_CODES, LakeformError } from "../lake/errors";
import { lakeOutputs, outputsFile } from "./outputs";

// exitOverride: a usage error throws instead of exiting, so its exit code comes from the table too.
const program = new Command("lakeform").description("A data lakehouse from code").showHelpAfterError().exitOverride();

const write = (s: string) => process.stdout.write(s);

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
  .description("provision the lakehouse (S3, Hive Metastore, Spark, Trino, the reconciler and the API) and wait until every service is healthy")
  .action(async () => {
    const { selectStack } = await import("../stacks/automation");
    const stack = await selectStack();
    const res = await stack.up({ onOutput: write, color: "auto" });
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
  .description("stop every service and remove what `up` created (table data in the data dir stays unless forceDestroy)")
  .action(async () => {
    const { selectStack } = await import("../stacks/automation");
    const stack = await selectStack();
    await stack.destroy({ onOutput: write });
    (await import("node:fs")).rmSync(outputsFile(), { force: true });
  });

program
  .command("outputs")
  .description("print the lakehouse's endpoints (add --show-secrets for the S3 keys, the API tokens and the services' passwords)")
  .option("--show-secrets", "include the secrets: S3 secret key, API tokens (apiReadToken reads, apiToken writes), Trino passwords, the job server's secret")
  .action(async (opts) => {
    const outs = await lakeOutputs();
    const hidden = Object.fromEntries(SECRET_OUTPUTS.map((k) => [k, "[secret]"]));
    write(JSON.stringify(opts.showSecrets ? outs : { ...outs, ...hidden }, null, 2) + "\n");
  });

program
  .command("reconcile")
  .description("make the lake match tables.yaml, and keep it so (watches the file and its sources)")
  .option("-f, --file <path>", "the desired state", "tables.yaml")
  .option("--once", "one pass over every table, print the status, exit (0 when all in sync)")
  .option("--until-synced", "run until every table is in sync, then exit")
  .option("--timeout <seconds>", "give up after this long (exit 2)")
  .option("--resync <seconds>", "re-check every table this often even without changes", "60")
  .option("--trash-days <days>", "how long a pruned table's files stay undroppable when its spec doesn't say (default: lakeform:reconciler trashDays, else 7)")
  .action(async (opts) => {
    const { reconcileCommand } = await import("./reconcile");
    const code = await reconcileCommand(await lakeOutputs(), opts);
    // The loop leaves keep-alive sockets and watchers behind it; exit once output is flushed.
    process.stdout.write("", () => process.exit(code));
  });

program
  .command("status")
  .description("the services' health, then each table: in sync? rows, last commit, and if not, why")
  .option("--json", "machine-readable")
  .option("-w, --watch", "refresh every 2 seconds")
  .action(async (opts) => {
    const { statusCommand } = await import("./status");
    process.exitCode = await statusCommand(await lakeOutputs(), opts);
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
  .option("-f, --file <path>", "the desired state", "tables.yaml")
  .action(async (table, opts) => {
    const [{ undropCommand }, { createTrashDeps }, { createLogger }] = await Promise.all([import("./trash"), import("../reconciler/runtime"), import("../lake/logger")]);
    await undropCommand(createTrashDeps(await lakeOutputs(), { log: createLogger("lakeform-undrop"), role: "cli" }), { file: opts.file, table }, write);
  });

const trashCmd = program
  .command("trash")
  .description("pruned tables whose files are kept: what can be undropped, and until when")
  .option("--json", "machine-readable")
  .action(async (opts) => {
    const [{ trashListCommand }, { createTrashDeps }, { createLogger }] = await Promise.all([import("./trash"), import("../reconciler/runtime"), import("../lake/logger")]);
    process.exitCode = await trashListCommand(createTrashDeps(await lakeOutputs(), { log: createLogger("lakeform-trash"), role: "cli" }), opts, write);
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
  .description("a service's log (s3, metastore, spark, trino, reconciler, api): pretty on a terminal, JSON lines when piped")
  .argument("[service]", "which service", "reconciler")
  .option("-f, --follow", "keep printing new lines")
  .option("--since <when>", "only lines from this far back (30s, 10m, 2h, 1d) or since an ISO-8601 time")
  .option("--json", "JSON lines even on a terminal")
  .action(async (service, opts) => {
    const { logsCommand } = await import("./logs");
    const { stackDataDir } = await import("../lake/stackData");
    process.exitCode = await logsCommand(stackDataDir(), service, { follow: opts.follow, since: opts.since, pretty: opts.json ? false : undefined });
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
  .option("-f, --file <path>", "the desired state", "tables.yaml")
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
    const app = await buildApi({ lake: createLakeService(outs, opts.file), tokens: apiTokens(outs), limits, logger: log, allowedHosts });
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
  .option("-f, --file <path>", "the desired state", "tables.yaml")
  .option("-c, --command <statements>", "run these statements and exit")
  .option("--json", "print results as JSON")
  .action(async (opts) => {
    const outs = await lakeOutputs();
    const [{ createLakeService }, { runShell }] = await Promise.all([import("../api/runtime"), import("./shell")]);
    process.exitCode = await runShell(createLakeService(outs, opts.file), { command: opts.command, json: opts.json });
  });

program
  .command("supervise", { hidden: true })
  .description("run a command and start it again whenever it exits (the local runtime's reconciler and API run under it)")
  .requiredOption("--service <name>", "the service's name, for its log lines")
  .requiredOption("--state <file>", "where to report the supervised pid and restarts")
  .argument("<command...>", "the command, after --")
  .action(async (command, opts) => {
    const { supervise } = await import("./supervise");
    process.exit(await supervise({ service: opts.service, stateFile: opts.state, command }));
  });

/**
 * Every failure leaves with the exit code of its error code (lake/errorCodes.json): 2 for bad
 * input, 3 for something that isn't there, 4 unauthorized, 5 refused data, 6 a service
 * unavailable, 1 anything else. Commander has already printed its own usage errors.
 */
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : ERROR_CODES.BAD_REQUEST.exit);
  const e = asLakeformError(err);
  process.stderr.write(`lakeform: ${e.code === "INTERNAL" ? "" : `${e.code}: `}${e.message}\n`);
  process.exit(e.exitCode);
});
