/** What the benches read of a process from /proc (Linux): its memory and its children. */
import * as fs from "node:fs";

/** kB from /proc/<pid>/status: VmRSS (now) or VmHWM (the peak so far). */
export function procKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The processes whose parent is pid (any of its threads may have started them). */
export function children(pid: number): number[] {
  return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
    } catch {
      return false;
    }
  });
}

/** The pid and every descendant of it. */
export function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...children(out[i]));
  return out;
}

/**
 * The job server's two processes under its supervisor (spark/spark.pid names the supervisor, a
 * Node process): the driver's JVM (spark-submit's java) and the Python process it runs
 * (job_server.py), found by their command lines.
 */
export function jobServerProcesses(dataDir: string): { jvm: number; python: number } {
  const supervisor = (JSON.parse(fs.readFileSync(`${dataDir}/spark/spark.pid`, "utf8")) as { pid: number }).pid;
  const argv = (p: number) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
    } catch {
      return [];
    }
  };
  const all = tree(supervisor);
  const jvm = all.find((p) => /\/java$/.test(argv(p)[0] ?? ""));
  const python = all.find((p) => /python[\d.]*$/.test(argv(p)[0] ?? "") && argv(p).some((a) => a.endsWith("job_server.py")));
  if (!jvm || !python) throw new Error(`the job server's JVM and Python process aren't under its supervisor (pid ${supervisor}): found ${jvm ?? "no JVM"}, ${python ?? "no Python"}`);
  return { jvm, python };
}
