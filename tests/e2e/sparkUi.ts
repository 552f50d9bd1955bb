/**
 * A Spark standalone cluster's own JSON (the master's and each worker's web UI), for the
 * scale-out tests of both runtimes: which workers are alive, which apps ran, where executors ran.
 */
import { waitFor } from "./lake";

export async function json<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export interface MasterState {
  workers: { id: string; host: string; state: string; coresused: number }[];
  activeapps: { id: string; name: string }[];
  completedapps: { id: string; name: string }[];
}

export interface WorkerState {
  id: string;
  executors: { appid: string }[];
  finishedexecutors: { appid: string }[];
}

/**
 * Per worker (its UI's JSON URL), whether it ran an executor of the app; waits, bounded, until
 * every one did. A worker moves an executor to its finished list once the executor's process has
 * exited, a moment after the app ends (CI once read a worker before that), so a single read can
 * miss one. Fails naming what each worker showed last.
 */
export async function executorsOnEveryWorker(workerUrls: string[], appId: string): Promise<boolean[]> {
  return waitFor(
    `every worker to list an executor of ${appId}`,
    async () => {
      const seen = await Promise.all(
        workerUrls.map(async (url) => {
          const w = await json<WorkerState>(url);
          return [...w.executors, ...w.finishedexecutors].some((e) => e.appid === appId);
        }),
      );
      if (seen.every(Boolean)) return seen;
      throw new Error(`executors of ${appId} per worker: ${JSON.stringify(seen)}`);
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
}
