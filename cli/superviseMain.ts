/**
 * The supervisor of the local runtime's engines, run by tsx straight from this file: `tsx
 * cli/superviseMain.ts --service S --state FILE [--log FILE --log-max-bytes N --log-keep K] --
 * command...`: with --log, the command's output goes to FILE rotated by size (N bytes, K kept). The same loop as `lakeform
 * supervise` (cli/supervise.ts), without the command line around it, so an engine starts
 * whatever state the rest of the command line's sources are in (no dist/ build first).
 */
import { LOG_ROTATION_DEFAULTS } from "../lake/rotatingLog";
import { supervise } from "./supervise";

function main(argv: string[]): Promise<number> {
  const sep = argv.indexOf("--");
  const opts = sep < 0 ? argv : argv.slice(0, sep);
  const command = sep < 0 ? [] : argv.slice(sep + 1);
  const value = (flag: string) => {
    const i = opts.indexOf(flag);
    return i >= 0 ? opts[i + 1] : undefined;
  };
  const service = value("--service");
  const stateFile = value("--state");
  if (!service || !stateFile || command.length === 0) {
    process.stderr.write("usage: superviseMain.ts --service <name> --state <file> -- <command...>\n");
    return Promise.resolve(2);
  }
  const logFile = value("--log");
  const log = logFile
    ? { file: logFile, maxBytes: Number(value("--log-max-bytes") ?? LOG_ROTATION_DEFAULTS.maxBytes), keep: Number(value("--log-keep") ?? LOG_ROTATION_DEFAULTS.keep) }
    : undefined;
  return supervise({ service, stateFile, command, log });
}

void main(process.argv.slice(2)).then((code) => process.exit(code));
