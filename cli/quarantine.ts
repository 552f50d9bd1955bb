/** `lakeform quarantine replay`'s output for people. */
import type { WriteResult } from "../lake/jobClient";

export function formatReplay(res: { table: string; replayed: number; write?: WriteResult }): string {
  if (!res.replayed || !res.write) return `${res.table}: nothing quarantined`;
  const w = res.write;
  const broke = (w.expectations ?? []).filter((e) => e.failed > 0).map((e) => `${e.name} (${e.action}) ${e.failed}`);
  return [
    `${res.table}: replayed ${res.replayed} quarantined row(s) in commit ${w.commit}: ${w.rowsWritten} written`,
    broke.length ? `  expectations still broken: ${broke.join(", ")} (quarantined rows are back in the quarantine table under the replay's keys)` : "  every replayed row passed the expectations",
  ].join("\n");
}
