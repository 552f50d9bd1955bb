/**
 * Prometheus's text format read back with the reference parser: prometheus-client's
 * (`prometheus_client.parser`, the Python client's), installed by set-up from
 * jobs/requirements-test.txt into the virtualenv of the local runtime. It refuses what isn't the
 * format, as a Prometheus server's scrape would.
 */
import { execFileSync } from "node:child_process";
import { machineInstallPaths } from "../../components/local/install";

export interface Sample {
  /** The sample's own name: `x_total` of a counter, `x_bucket`/`x_count`/`x_sum` of a histogram. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  /** The family's name (a counter's without `_total`, as the parser gives it). */
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
num = lambda v: v if math.isfinite(v) else str(v)
json.dump([{"name": f.name, "type": f.type, "help": f.documentation,
            "samples": [{"name": s.name, "labels": s.labels, "value": num(s.value)} for s in f.samples]}
           for f in text_string_to_metric_families(sys.stdin.read())], sys.stdout)
`;

/** Every family of a scrape; throws with the parser's complaint on text that isn't the format. */
export function parseMetrics(text: string): Family[] {
  const out = execFileSync(machineInstallPaths().python, ["-c", PARSE], { input: text, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  return (JSON.parse(out) as Family[]).map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, value: Number(s.value) })) }));
}

/** The samples named `name` whose labels include `labels`. */
export function samples(families: Family[], name: string, labels: Record<string, string> = {}): Sample[] {
  return families.flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample of `name` with these labels (undefined when there is none; two are an error). */
export function value(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples(families, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** A family's type as the scrape declared it (counter, gauge, histogram). */
export function typeOf(families: Family[], name: string): string | undefined {
  return families.find((f) => f.name === name)?.type;
}
