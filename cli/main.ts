#!/usr/bin/env node
/**
 * The `lakeform` command. Each command loads what it needs when it runs (the Pulumi SDK, the AWS
 * SDK, the reconciler, fastify are heavy), so `--help`, `status` and `query` answer at once; the
 * stack outputs come from the cache `up` leaves in the stack's data directory (cli/outputs.ts).
 * The program and its shared options are cli/program.ts's; the commands, by what they act on,
 * cli/stackCommands.ts's, cli/tableCommands.ts's and cli/serviceCommands.ts's.
 */
import { Argument, CommanderError } from "@commander-js/extra-typings";
// Small and free of heavy imports: every failure's exit code comes from its code.
import { asLakeformError, ERROR_CODES } from "../lake/errors";
import { exitQuietlyOnClosedPipe } from "./output";
import { outputsFile } from "./outputs";
import { program, write } from "./program";
import { registerDoctor } from "./doctor";
import { addServiceCommands } from "./serviceCommands";
import { addStackCommands } from "./stackCommands";
import { addTableCommands } from "./tableCommands";

export { program };

addStackCommands(program);
addTableCommands(program);
addServiceCommands(program);
registerDoctor(program);

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
