/**
 * Column-name sanitising, shared with the Spark job (jobs/lakeform_jobs/names.py implements the same
 * rule; tests/fixtures/column-names.json holds the vectors both are checked against).
 * "First Name" → first_name, "Index" → index, "2024 Sales" → _2024_sales.
 */
export function sanitizeColumn(raw: string): string {
  let s = raw.trim().toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/_+/g, "_").replace(/^_+|_+$/g, "");
  if (s === "") s = "col";
  if (/^[0-9]/.test(s)) s = `_${s}`;
  return s;
}
