/**
 * The checks resource's provider, loaded by path in the dynamic provider's process
 * (components/dynamic.ts): `check` runs on every `up` and preview, before Pulumi creates or
 * changes anything that depends on it, and fails naming what is wrong. create/update/delete keep
 * only which services are external: deleting it (on `destroy`) touches no external service.
 */
import { checkExternalServices, type ExternalServicesSpec } from "./checks";

interface Inputs {
  spec: ExternalServicesSpec;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
/** A Pulumi secret as the provider protocol carries one, or the value itself. */
function reveal<T>(v: T | { [SECRET_SIG]: string; value: T }): T {
  return v && typeof v === "object" && SECRET_SIG in v ? (v as { value: T }).value : (v as T);
}

function outs(inputs: Inputs) {
  return { services: Object.keys(reveal(inputs.spec)).sort() };
}

export const externalServices = {
  async check(_olds: Inputs, news: Inputs) {
    const problems = await checkExternalServices(reveal(news.spec));
    if (problems.length) {
      return { inputs: news, failures: problems.map((reason) => ({ property: reason.replace(/^lakeform:([a-zA-Z]+)\.external.*$/s, "$1"), reason })) };
    }
    return { inputs: news };
  },
  async create(inputs: Inputs) {
    return { id: "external-services", outs: outs(inputs) };
  },
  async diff(_id: string, olds: { services?: string[] }, news: Inputs) {
    return { changes: JSON.stringify(olds.services ?? []) !== JSON.stringify(outs(news).services) };
  },
  async update(_id: string, _olds: unknown, news: Inputs) {
    return { outs: outs(news) };
  },
  async delete() {
    // Nothing: an external service and its data are never Lakeform's to remove.
  },
};
