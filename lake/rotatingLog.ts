/**
 * A log file rotated by size: written in appends; once the next write would take it past
 * `maxBytes`, it becomes `<file>.1` (the older ones moving up to `<file>.<keep>`, the oldest
 * removed) and a new file is started. Synchronous, so lines stay whole and in order whoever
 * writes them (the supervisor's own lines and its service's output share one file).
 */
import * as fs from "node:fs";

export interface RotationOptions {
  /** Rotate before the file would pass this size (bytes). */
  maxBytes: number;
  /** Rotated files kept beside the current one (<file>.1 … <file>.<keep>); 0 keeps none. */
  keep: number;
}

/** The defaults of lakeform:logs (maxBytes, keep): 50 MiB, 5 kept. */
export const LOG_ROTATION_DEFAULTS: RotationOptions = { maxBytes: 50 * 1024 * 1024, keep: 5 };

export class RotatingLog {
  private fd: number;
  private size: number;

  constructor(
    readonly file: string,
    readonly opts: RotationOptions,
  ) {
    if (!(opts.maxBytes > 0) || !Number.isInteger(opts.keep) || opts.keep < 0) {
      throw new Error(`log rotation: maxBytes must be > 0 and keep a whole number >= 0 (got ${JSON.stringify(opts)})`);
    }
    this.fd = fs.openSync(file, "a");
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Appends; a chunk that doesn't fit is split after its last whole line that does (a line longer than a whole file, where it must). */
  write(chunk: Buffer | string): void {
    let buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    while (buf.length > 0) {
      const room = this.opts.maxBytes - this.size;
      if (buf.length <= room) {
        fs.writeSync(this.fd, buf);
        this.size += buf.length;
        return;
      }
      let cut = room > 0 ? buf.lastIndexOf(10, room - 1) + 1 : 0;
      if (cut === 0 && this.size === 0) cut = room;
      if (cut > 0) {
        fs.writeSync(this.fd, buf.subarray(0, cut));
        this.size += cut;
        buf = buf.subarray(cut);
      }
      this.rotate();
    }
  }

  /** The current file becomes <file>.1; <file>.N moves to N+1; past `keep` is removed. */
  rotate(): void {
    fs.closeSync(this.fd);
    fs.rmSync(`${this.file}.${this.opts.keep}`, { force: true });
    for (let n = this.opts.keep - 1; n >= 1; n--) {
      if (fs.existsSync(`${this.file}.${n}`)) fs.renameSync(`${this.file}.${n}`, `${this.file}.${n + 1}`);
    }
    if (this.opts.keep > 0) fs.renameSync(this.file, `${this.file}.1`);
    else fs.rmSync(this.file, { force: true });
    this.fd = fs.openSync(this.file, "a");
    this.size = 0;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
