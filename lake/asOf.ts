/**
 * The asOf of time travel, defined once for TypeScript (the job server's Python follows the same
 * grammar; tests/fixtures/as-of.json holds the vectors both are checked against):
 *
 *   commit id   digits, 8 to 20 of them: a Hudi instant (yyyyMMddHHmmssSSS) or an Iceberg snapshot id
 *   timestamp   ISO-8601: YYYY-MM-DD, optionally followed by T (or a space) and hh:mm[:ss[.fraction]],
 *               optionally followed by a zone: Z, ±hh:mm or ±hhmm. A date alone is midnight; no
 *               zone means UTC; the fraction has up to 9 digits, of which the first 3 count
 *               (commit times are milliseconds, so finer digits can't change which commit a time selects).
 *
 * Nothing else: no surrounding blanks, no lower-case t/z, no calendar-impossible dates.
 */
import { LakeformError } from "./errors";

export type AsOf = { kind: "commit"; input: string; commit: string } | { kind: "timestamp"; input: string; epochMillis: number };

/** The grammar's two forms (exported for the API's OpenAPI pattern and the tests). */
export const COMMIT_ID = /^\d{8,20}$/;
export const AS_OF_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
/** Both forms as one pattern, for an OpenAPI `pattern`: what passes it still has to be a real date. */
export const AS_OF_PATTERN = `^(?:${COMMIT_ID.source.slice(1, -1)}|${AS_OF_TIMESTAMP.source.slice(1, -1)})$`;

const grammarError = (input: string) =>
  new LakeformError("BAD_AS_OF", `asOf "${input}" is neither a commit id (digits) nor a timestamp like 2026-11-24T10:00:00Z`, { asOf: input });

/** Parses an asOf; throws BAD_AS_OF for anything outside the grammar or not a real time. */
export function parseAsOf(input: string): AsOf {
  if (COMMIT_ID.test(input)) return { kind: "commit", input, commit: input };
  const m = AS_OF_TIMESTAMP.exec(input);
  if (!m) throw grammarError(input);
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const millis = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3));
  const zone = m[8];
  let offsetMinutes = 0;
  if (zone && zone !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const [zh, zm] = [Number(digits.slice(0, 2)), Number(digits.slice(2))];
    if (zh > 23 || zm > 59) throw new LakeformError("BAD_AS_OF", `asOf "${input}" has no such zone offset: ${zone}`, { asOf: input });
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (zh * 60 + zm);
  }
  // Date.UTC maps years 0-99 to 19xx, so the year is set on its own; the fields read back must
  // be the ones given, which refuses February 30th, hour 24 and the like.
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, millis);
  const same = d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day && d.getUTCHours() === hour && d.getUTCMinutes() === minute && d.getUTCSeconds() === second;
  const utcYear = new Date(d.getTime() - offsetMinutes * 60_000).getUTCFullYear();
  if (!same || year < 1 || utcYear < 1 || utcYear > 9999) throw new LakeformError("BAD_AS_OF", `asOf "${input}" is not a valid time`, { asOf: input });
  return { kind: "timestamp", input, epochMillis: d.getTime() - offsetMinutes * 60_000 };
}

/** The asOf as a Hudi instant: a commit as it is, a timestamp as yyyyMMddHHmmssSSS in UTC (Hudi's timeline is UTC). */
export function hudiInstant(asOf: AsOf): string {
  if (asOf.kind === "commit") return asOf.commit;
  return new Date(asOf.epochMillis).toISOString().replace(/[-:TZ.]/g, "");
}

/** Trino's literal for a timestamp asOf: TIMESTAMP '2026-11-24 09:00:00.500 UTC'. */
export function trinoTimestampLiteral(epochMillis: number): string {
  const iso = new Date(epochMillis).toISOString();
  return `TIMESTAMP '${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC'`;
}

/** The Iceberg time-travel clause Trino reads: FOR VERSION AS OF <snapshot> or FOR TIMESTAMP AS OF <literal>. */
export function trinoAsOfClause(asOf: AsOf): string {
  return asOf.kind === "commit" ? `FOR VERSION AS OF ${asOf.commit}` : `FOR TIMESTAMP AS OF ${trinoTimestampLiteral(asOf.epochMillis)}`;
}
