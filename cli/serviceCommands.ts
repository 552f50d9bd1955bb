/**
 * The services' commands: their logs, a query through Trino, the REST API and LakeShell, and the
 * supervisor the local runtime runs the reconciler and the API under.
 */
import { Argument } from "@commander-js/extra-typings";
import { LakeformError } from "../lake/errors";
import { lakeOutputs } from "./outputs";
import { fileOption, tablesFileOf, write, type Program } from "./program";

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

export function addServiceCommands(program: Program): void {
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
      const app = await buildApi({ lake: createLakeService(outs, tablesFileOf(opts)), tokens: apiTokens(outs), limits, logger: log, allowedHosts });
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
}
