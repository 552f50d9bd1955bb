/**
 * `lakeform reconcile`: the loop in the foreground (or as the reconciler service, under `lakeform supervise`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LakeformError } from "../lake/errors";
import { createLogger } from "../lake/logger";
import { statusFileFor } from "../lake/outputs";
import { repairRequestsDir } from "../lake/repairRequests";
import { createReconciler } from "../reconciler/runtime";
import { InputWatcher } from "../reconciler/watch";
import { formatStatus } from "../lake/status";
import { stackTrashDays } from "../lake/trash";
import type { LakeOutputs } from "../lake/outputKeys";

/** --trash-days, else the stack's lakeform:reconciler trashDays, else 7. */
function trashDaysOption(raw: string | undefined): number {
  if (raw === undefined) return stackTrashDays();
  const days = Number(raw);
  if (!(days > 0)) throw new LakeformError("BAD_REQUEST", `--trash-days must be a number of days above 0, not ${raw}`);
  return days;
}

export async function reconcileCommand(lake: LakeOutputs, opts: { file: string; once?: boolean; untilSynced?: boolean; timeout?: string; resync?: string; trashDays?: string }): Promise<number> {
  const log = createLogger();
  const tablesFile = path.resolve(opts.file);
  if (!fs.existsSync(tablesFile)) throw new LakeformError("NO_FILE", `${opts.file}: no such file`);
  const reconciler = createReconciler(lake, {
    tablesFile,
    statusFile: statusFileFor(lake.dataDir),
    log,
    resyncMs: opts.resync ? Number(opts.resync) * 1000 : undefined,
    trashDays: trashDaysOption(opts.trashDays),
  });

  if (opts.once) {
    await reconciler.runOnce();
    process.stdout.write(formatStatus(reconciler.lakeStatus) + "\n");
    return reconciler.allInSync() && !reconciler.lakeStatus.specError ? 0 : 2;
  }

  // Only tables.yaml and the declared local sources are watched, and a change requeues only the
  // tables it concerns. Until its first scan is done the watcher misses changes: start the loop
  // (which reads tables.yaml afresh) only once it is watching. A writer that found a table
  // needing a repair (the API's REPAIR_PENDING) asks for a pass over it through a request file.
  reconciler.loadDesired();
  const watcher = await InputWatcher.start(reconciler, { tablesFile, log, repairRequests: repairRequestsDir(statusFileFor(lake.dataDir)) });
  reconciler.start();
  log.info({ file: tablesFile, jobServer: lake.sparkJobServer }, "Reconciler started (Ctrl-C stops it)");

  const deadline = opts.timeout ? Date.now() + Number(opts.timeout) * 1000 : Number.POSITIVE_INFINITY;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (code: number) => {
      if (stopping) return;
      stopping = true;
      log.info("Stopping: waiting for passes in flight");
      await watcher.close();
      await reconciler.stop();
      resolve(code);
    };
    process.once("SIGINT", () => void stop(0));
    process.once("SIGTERM", () => void stop(0));
    const poll = setInterval(() => {
      if (opts.untilSynced && reconciler.allInSync()) {
        clearInterval(poll);
        process.stdout.write(formatStatus(reconciler.lakeStatus) + "\n");
        void stop(0);
      } else if (Date.now() > deadline) {
        clearInterval(poll);
        process.stdout.write(formatStatus(reconciler.lakeStatus) + "\n");
        void stop(2);
      }
    }, 500);
  });
}
