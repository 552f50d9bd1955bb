/**
 * Services the stack connects to instead of provisioning (issue 24): one resource whose check,
 * run on every `up` before anything that depends on it, tries each external service from the
 * side Lakeform's engines use it (components/external/checks.ts). Every component of the
 * lakehouse waits for it; `destroy` deletes it and nothing else of the external services.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { ExternalServicesSpec } from "./checks";

export * from "./checks";

const IMPL = path.join(__dirname, "impl");

/** A dynamic provider like components/dynamic.ts's, with a check: Lakeform's other resources keep theirs as it is. */
function checksProvider(): pulumi.dynamic.ResourceProvider {
  const impl = IMPL;
  const load = () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("tsx/cjs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(impl).externalServices;
  };
  return {
    check: (olds, news) => load().check(olds, news),
    create: (inputs) => load().create(inputs),
    diff: (id, olds, news) => load().diff(id, olds, news),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => load().delete(id, props),
  };
}

export class ExternalServices extends pulumi.dynamic.Resource {
  declare readonly services: pulumi.Output<string[]>;

  constructor(name: string, spec: pulumi.Input<ExternalServicesSpec>, opts?: pulumi.CustomResourceOptions) {
    // Keys and passwords: kept as secrets in the state.
    super(checksProvider(), name, { spec: pulumi.secret(spec), services: undefined }, opts, "lakeform", "ExternalServices");
  }
}
