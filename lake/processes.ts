/**
 * Finding a local service's processes by the marker every process the local runtime starts
 * carries in its environment (LAKEFORM_SERVICE=<its pid file>, inherited through exec and forks):
 * the supervisor uses it to kill what a dead engine left behind, and the local runtime to replace
 * an engine whose supervisor died (components/local/process.ts). Linux only (/proc).
 */
import * as fs from "node:fs";
import { pidAlive } from "./files";

/** The parent of a process, from /proc/<pid>/stat (the field after the state, past the command's closing parenthesis). */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** This process and its ancestors (which carry the marker too when one of them is a supervised service). */
export function selfAndAncestors(): Set<number> {
  const seen = new Set<number>();
  for (let pid: number | undefined = process.pid; pid !== undefined && pid > 1 && !seen.has(pid); pid = parentPid(pid)) seen.add(pid);
  return seen;
}

/** Pids of the processes whose environment has `marker` (`NAME=value`), but this one and its ancestors. */
export function processesMarked(marker: string): number[] {
  const found: number[] = [];
  const mine = selfAndAncestors();
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || mine.has(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(marker)) found.push(pid);
    } catch {
      /* gone, or not ours */
    }
  }
  return found;
}

/**
 * Stops these processes: SIGTERM (each shuts down as it would under a supervisor's stop), then
 * SIGKILL for any still there after `graceMs`; waits up to 10 s more for them to be gone.
 * Returns the pids still alive after that (none, unless the kernel is stuck on one).
 */
export async function terminate(pids: number[], graceMs: number): Promise<number[]> {
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (pids.some((p) => pidAlive(p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  };
  signal("SIGTERM");
  await waitGone(graceMs);
  if (pids.some((p) => pidAlive(p))) {
    signal("SIGKILL");
    await waitGone(10_000);
  }
  return pids.filter((p) => pidAlive(p));
}
