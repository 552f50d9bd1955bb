/**
 * How the reading commands print (status, get, describe, history, outputs, trash): `-o table`
 * (aligned columns for people, the default), `-o wide` (more columns), `-o json` and `-o yaml`
 * (the same data for programs, complete whatever the columns show). The older `--json` flags
 * mean `-o json`.
 */
import { stringify as toYaml } from "yaml";
import { LakeformError } from "../lake/errors";
import { formatBinaryBytes } from "../lake/progress";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** `-o <format>` (and a command's legacy `--json`) as one format; a format it doesn't know is BAD_REQUEST naming -o. */
export function outputFormat(opts: { output?: string; json?: boolean }): OutputFormat {
  if (opts.output === undefined) return opts.json ? "json" : "table";
  const f = opts.output.trim().toLowerCase();
  if (!(OUTPUT_FORMATS as readonly string[]).includes(f)) {
    throw new LakeformError("BAD_REQUEST", `-o/--output ${opts.output}: not a format (${OUTPUT_FORMATS.join(", ")})`);
  }
  if (opts.json && f !== "json") throw new LakeformError("BAD_REQUEST", `--json and -o ${f} ask for different formats: give one`);
  return f as OutputFormat;
}

/** The data of -o json / -o yaml: JSON pretty-printed, or YAML of the same value (JSON's types). */
export function serialize(value: unknown, format: "json" | "yaml"): string {
  if (format === "json") return JSON.stringify(value, null, 2) + "\n";
  // Through JSON first: dates become their ISO text and undefined fields vanish, as in -o json.
  const plain = JSON.parse(JSON.stringify(value ?? null)) as unknown;
  return toYaml(plain, { lineWidth: 0 });
}

/**
 * Columns as kubectl prints them: a header of capitals, cells padded with two spaces between,
 * no borders; the last column isn't padded (it holds messages of any length).
 */
export function renderColumns(header: string[], rows: string[][]): string {
  const last = header.length - 1;
  const widths = header.map((h, i) => (i === last ? 0 : Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === last ? (c ?? "") : (c ?? "").padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join("\n");
}

/** "3s", "5m", "2h", "4d": the age of a time, kubectl's way (two units below a day and a half: 1h5m). */
export function age(at: string | number | undefined, now = Date.now()): string {
  if (at === undefined) return "-";
  const t = typeof at === "number" ? at : Date.parse(at);
  if (Number.isNaN(t)) return "-";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ""}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y${d % 365 ? `${d % 365}d` : ""}`;
}

/** Bytes for people: 812 B, 4.2 KiB, 13.0 MiB, 2.1 GiB. */
export function formatBytes(n: number | null | undefined): string {
  return n === null || n === undefined ? "-" : formatBinaryBytes(n);
}

/**
 * Output that survives a closed pipe (`lakeform status | head -1`): when the reader goes away,
 * writing to stdout fails with EPIPE; that is the reader's "enough", not an error, so the
 * command ends at once, quietly, with exit 0. Any other stream error is left to the usual handling.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream = process.stdout, exit: (code: number) => void = (c) => process.exit(c)): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") exit(0);
    else throw err;
  });
}
