/**
 * What the services' dynamic provider does: write the stack outputs file the command line and
 * the services read (mode 0600), and remove it on destroy. Loaded by path from the provider
 * process (see providers.ts), like components/local/serviceImpl.ts.
 */
import * as fs from "node:fs";
import { writeJsonAtomic } from "../../lake/files";

export interface OutputsFileInputs {
  file: string;
  outputs: Record<string, string>;
}

function write(inputs: OutputsFileInputs): OutputsFileInputs {
  writeJsonAtomic(inputs.file, inputs.outputs, { mode: 0o600 });
  return inputs;
}

const canonical = (o: Record<string, unknown>) => JSON.stringify(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

/** Same outputs (in any key order: `lakeform up` writes the file too) and still private. */
function sameContent(file: string, outputs: Record<string, string>): boolean {
  try {
    return canonical(JSON.parse(fs.readFileSync(file, "utf8"))) === canonical(outputs) && (fs.statSync(file).mode & 0o777) === 0o600;
  } catch {
    return false;
  }
}

export const outputsFile = {
  async create(inputs: OutputsFileInputs) {
    return { id: inputs.file, outs: { ...write(inputs), present: true } };
  },
  /** `pulumi refresh`: a removed or edited file shows up as not present; `up` writes it again. */
  async read(id: string, props: OutputsFileInputs & { present: boolean }) {
    return { id, props: { ...props, present: sameContent(props.file, props.outputs) } };
  },
  async diff(_id: string, olds: OutputsFileInputs & { present?: boolean }, news: OutputsFileInputs) {
    const changes = olds.file !== news.file || canonical(olds.outputs) !== canonical(news.outputs) || olds.present === false;
    return { changes, replaces: olds.file !== news.file ? ["file"] : [], deleteBeforeReplace: true };
  },
  async update(_id: string, _olds: OutputsFileInputs, news: OutputsFileInputs) {
    return { outs: { ...write(news), present: true } };
  },
  async delete(_id: string, props: OutputsFileInputs) {
    fs.rmSync(props.file, { force: true });
  },
};
