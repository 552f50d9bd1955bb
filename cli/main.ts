#!/usr/bin/env node
/**
 * The `lakeform` command.
 */
import { Command } from "@commander-js/extra-typings";
import { reconcileCommand, statusCommand } from "./reconcile";
import { TRINO_USERS, TrinoClient } from "../lake/trino";
import { createLakeService } from "../api/runtime";
import { buildApi } from "../api/server";
import { createLogger } from "../lake/logger";
import { renderTable } from "./render";
import { runShell } from "./shell";
import { readOutputs, selectStack } from "../stacks/automation";

const program = new Command("lakeform").description("A data lakehouse from code").showHelpAfterError();

const write = (s: string) => process.stdout.write(s);

program
  .command("up")
  .description("provision the lakehouse (S3, Hive Metastore, Spark, Trino) and wait until every service is healthy")
  .action(async () => {
    const stack = await selectStack();
    const res = await stack.up({ onOutput: write, color: "auto" });
    write(`\nlakehouse ${res.summary.result}: ${JSON.stringify(res.summary.resourceChanges ?? {})}\n`);
  });

program
  .command("preview")
  .description("show what `up` would change")
  .action(async () => {
    const stack = await selectStack();
    await stack.preview({ onOutput: write, diff: true });
  });

program
  .command("refresh")
  .description("compare the state with the running services (a dead process shows up here)")
  .action(async () => {
    const stack = await selectStack();
    await stack.refresh({ onOutput: write });
  });

program
  .command("destroy")
  .description("stop every service and remove what `up` created (table data in the data dir stays unless forceDestroy)")
  .action(async () => {
    const stack = await selectStack();
    await stack.destroy({ onOutput: write });
  });

program
  .command("outputs")
  .description("print the lakehouse's endpoints (add --show-secrets for the S3 keys)")
  .option("--show-secrets", "include the S3 secret key")
  .action(async (opts) => {
    const outs = await readOutputs();
    write(JSON.stringify(opts.showSecrets ? outs : { ...outs, s3SecretKey: "[secret]", apiToken: "[secret]" }, null, 2) + "\n");
  });

program
  .command("reconcile")
  .description("make the lake match tables.yaml, and keep it so (watches the file and its sources)")
  .option("-f, --file <path>", "the desired state", "tables.yaml")
  .option("--once", "one pass over every table, print the status, exit (0 when all in sync)")
  .option("--until-synced", "run until every table is in sync, then exit")
  .option("--timeout <seconds>", "give up after this long (exit 2)")
  .option("--resync <seconds>", "re-check every table this often even without changes", "60")
  .action(async (opts) => {
    const code = await reconcileCommand(opts);
    // The loop leaves keep-alive sockets and watchers behind it; exit once output is flushed.
    process.stdout.write("", () => process.exit(code));
  });

program
  .command("status")
  .description("is each table in sync, and if not, why")
  .option("--json", "machine-readable")
  .option("-w, --watch", "refresh every 2 seconds")
  .action(async (opts) => {
    process.exitCode = await statusCommand(opts);
  });

program
  .command("query")
  .description("run a read-only SQL query through Trino and print the result as a table")
  .argument("<sql>", "the query")
  .option("--json", "rows as JSON")
  .action(async (sql, opts) => {
    const outs = await readOutputs();
    const result = await new TrinoClient(outs.trinoEndpoint, TRINO_USERS.readOnly).query(sql);
    write(opts.json ? JSON.stringify(result, null, 2) + "\n" : renderTable(result) + "\n");
  });

program
  .command("api")
  .description("serve the REST API (OpenAPI docs at /docs)")
  .option("-f, --file <path>", "the desired state", "tables.yaml")
  .option("-p, --port <port>", "port to listen on", "8090")
  .option("--host <host>", "address to bind", "127.0.0.1")
  .action(async (opts) => {
    const outs = await readOutputs();
    const log = createLogger("lakeform-api");
    const app = await buildApi({ lake: createLakeService(outs, opts.file), token: outs.apiToken, logger: log });
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
    const outs = await readOutputs();
    process.exitCode = await runShell(createLakeService(outs, opts.file), { command: opts.command, json: opts.json });
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`lakeform: ${err.message}\n`);
  process.exit(1);
});
