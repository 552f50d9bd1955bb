/**
 * The file helpers every part of Lakeform writes and checks its own files with: an atomic write
 * (a reader sees the old file or the new one, never half of one), a JSON read that answers
 * undefined for a missing or unreadable file, and whether a pid is a live process. Node built-ins
 * only: cheap to import from the command line, the services and the Pulumi providers alike.
 */
import * as fs from "node:fs";
import * as path from "node:path";

let tmpSeq = 0;

/**
 * Writes `file` through a temporary file in the same folder and a rename (atomic on one file
 * system). With `mode`, the file has exactly that mode (set on the temporary file, so the content
 * is never readable by others even for a moment, whatever the umask).
 */
export function writeFileAtomic(file: string, content: string, opts: { mode?: number } = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
  try {
    fs.writeFileSync(tmp, content, opts.mode === undefined ? undefined : { mode: opts.mode });
    if (opts.mode !== undefined) fs.chmodSync(tmp, opts.mode);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** `value` as indented JSON with a final newline, written atomically. */
export function writeJsonAtomic(file: string, value: unknown, opts: { mode?: number } = {}): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n", opts);
}

/** The file's JSON, or undefined when it is missing or not JSON (callers check the shape they need). */
export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/**
 * Whether a process with this pid is running. `kill(pid, 0)` answers for any process: no error
 * or EPERM (it exists, but belongs to another user) mean it exists, ESRCH that it doesn't. A
 * zombie (exited, not reaped yet) still exists but is not running: /proc says so where it can be
 * read; where it can't (another OS, a locked-down /proc), the process counts as running.
 */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return true;
  }
  // "<pid> (<command, which may hold spaces and parentheses>) <state> …"
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}
