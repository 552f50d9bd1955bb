/**
 * Writing CSV: the records Lakeform makes itself (LakeShell's `insert … values`) as a file the
 * job server reads like any other source.
 */

/** A field, quoted when it holds a quote, comma or line break (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A header and rows as CSV text, one record per line, ending with a line break. */
export function toCsv(header: string[], rows: string[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\n") + "\n";
}
