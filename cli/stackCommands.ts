/**
 * The stack's lifecycle: up, preview, refresh, destroy (Pulumi's, through stacks/automation.ts)
 * and the outputs `up` leaves.
 */
import { outputFormat } from "./output";
import { lakeOutputs, outputsFile } from "./outputs";
import { outputOption, write, type Program } from "./program";
import { stackName } from "../lake/stackData";

/** The outputs `lakeform outputs` prints as [secret] unless --show-secrets. */
const SECRET_OUTPUTS = ["s3SecretKey", "apiToken", "apiReadToken", "trinoPassword", "trinoReadPassword", "jobServerSecret"] as const;

export function addStackCommands(program: Program): void {
  program
    .command("up")
    .description("provision the lakehouse (S3, Hive Metastore, Spark, Trino, the reconciler and the API) and wait until every service is healthy; refreshes first, so a service found dead is started again")
    .option("--no-refresh", "don't compare the state with the running services first")
    .option("--no-doctor", "don't run lakeform doctor once the services are up")
    .action(async (opts: { refresh: boolean; doctor: boolean }) => {
      const { selectStack } = await import("../stacks/automation");
      const stack = await selectStack();
      // Refresh first (pulumi up --refresh): a dead or unhealthy service reads as running=false,
      // which its provider's diff turns into an update that starts it again.
      const res = await stack.up({ onOutput: write, color: "auto", refresh: opts.refresh });
      // The command line reads these from now on instead of asking Pulumi (cli/outputs.ts).
      const [{ toLakeOutputs }, { writeOutputsCache }] = await Promise.all([import("../lake/outputKeys"), import("../lake/stackData")]);
      writeOutputsCache(outputsFile(), toLakeOutputs(Object.fromEntries(Object.entries(res.outputs).map(([k, v]) => [k, v.value]))));
      write(`\nlakehouse ${res.summary.result}: ${JSON.stringify(res.summary.resourceChanges ?? {})}\n`);
      // Then the doctor: a stack that is up but can't work (versions, one engine's settings) fails here, with what to fix.
      if (opts.doctor) process.exitCode = await (await import("./doctor")).doctorAfterUp(await lakeOutputs(), write);
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
}
