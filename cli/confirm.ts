/**
 * Asking before something that can't be taken back (`lakeform destroy`): on a terminal the
 * command asks and goes on only on "y" or "yes"; without a terminal (a script, CI, a pipe) there
 * is nobody to ask, so it refuses unless --yes said so beforehand.
 */
import * as readline from "node:readline";
import { LakeformError } from "../lake/errors";

export interface ConfirmIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
}

/** True to go on. Without a terminal and without --yes: BAD_REQUEST saying to pass --yes (nothing is done). */
export async function confirm(what: string, opts: { yes?: boolean; flag?: string }, io: ConfirmIo = { input: process.stdin, output: process.stderr }): Promise<boolean> {
  if (opts.yes) return true;
  if (!io.input.isTTY) {
    throw new LakeformError("BAD_REQUEST", `${what}: refusing without confirmation; there is no terminal to ask on, so pass ${opts.flag ?? "--yes"} to go ahead`);
  }
  const rl = readline.createInterface({ input: io.input, output: io.output });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(`${what}. Go ahead? [y/N] `, resolve);
      // Ctrl-D: no answer is no.
      rl.once("close", () => resolve(""));
    });
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}
