/**
 * The problems a tables.yaml text is refused with (SpecError's list), for the spec's tests; fails
 * if the text is accepted or something else is thrown.
 */
import { parseTables, SpecError } from "../../lake/spec";

export function specProblems(text: string) {
  try {
    parseTables(text, "tables.yaml");
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error("expected a SpecError");
}
