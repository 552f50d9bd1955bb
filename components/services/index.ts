/**
 * The lakehouse's own services: the reconciler (watches tables.yaml and keeps the lake in line
 * with it) and the REST API, plus the stack outputs file they and the command line read.
 *
 * On both runtimes: supervised background processes on this machine (LocalService running
 * `lakeform supervise`), logs in `<dataDir>/<service>/logs/`. On the docker runtime they reach the
 * engines' containers through the ports those publish on 127.0.0.1 (the stack outputs).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { LakeOutputs } from "../../lake/outputKeys";
import { outputsFile } from "../../lake/paths";
import { implProvider } from "../dynamic";
import { LocalService } from "../local/providers";
import { servicesLocalPlans, SERVICES_DEFAULTS, type ApiServiceLimits } from "./localPlan";

const IMPL = path.join(__dirname, "impl");

/** The stack outputs as a file (mode 0600): the command line and the services read it instead of asking Pulumi. */
export class StackOutputsFile extends pulumi.dynamic.Resource {
  declare readonly file: pulumi.Output<string>;
  declare readonly present: pulumi.Output<boolean>;

  constructor(name: string, args: { file: string; outputs: pulumi.Input<{ [K in keyof LakeOutputs]: pulumi.Input<string> }> }, opts?: pulumi.CustomResourceOptions) {
    super(
      implProvider(IMPL, "outputsFile"),
      name,
      { file: args.file, outputs: pulumi.secret(pulumi.output(args.outputs)), present: undefined },
      opts,
      "lakeform",
      "StackOutputsFile",
    );
  }
}

/** Where the stack outputs file lives: the command line looks there too (lake/paths.ts). */
export const outputsFilePath = outputsFile;

/** Hash of the command line's sources: a change restarts the services on `up`, as jobs/ does the job server. */
export function codeHash(projectDir: string): string {
  const h = crypto.createHash("sha256");
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|json)$/.test(e.name)) h.update(path.relative(projectDir, p)).update(fs.readFileSync(p));
    }
  };
  for (const d of ["cli", "lake", "api", "reconciler"]) if (fs.existsSync(path.join(projectDir, d))) walk(path.join(projectDir, d));
  return h.digest("hex");
}

export interface LakeServicesArgs {
  projectDir: string;
  dataDir: string;
  stack: string;
  tablesFile: string;
  apiPort?: number;
  /** The API's bounds (lakeform:api.*), passed to `lakeform api` as flags. */
  apiLimits?: ApiServiceLimits;
  resyncSec?: number;
  outputs: { [K in keyof LakeOutputs]: pulumi.Input<string> };
  /** The file the outputs are written to (a StackOutputsFile the services wait for). */
  outputsFile: StackOutputsFile;
}

export class LakeServices extends pulumi.ComponentResource {
  readonly reconciler: LocalService;
  readonly api: LocalService;
  /** The REST API, on 127.0.0.1. */
  readonly apiEndpoint: string;

  constructor(name: string, args: LakeServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:LakeServices", name, {}, opts);
    const file = outputsFilePath(args.dataDir);
    const apiPort = args.apiPort ?? SERVICES_DEFAULTS.apiPort;
    this.apiEndpoint = `http://127.0.0.1:${apiPort}`;
    const outputsHash = pulumi
      .all(Object.values(args.outputs))
      .apply((vs) => crypto.createHash("sha256").update(JSON.stringify(vs)).digest("hex"));
    const plans = outputsHash.apply((h) =>
      servicesLocalPlans({
        projectDir: args.projectDir,
        dataDir: args.dataDir,
        stack: args.stack,
        tablesFile: args.tablesFile,
        apiPort,
        apiLimits: args.apiLimits,
        resyncSec: args.resyncSec,
        outputsFile: file,
        outputsHash: h,
        codeHash: codeHash(args.projectDir),
      }),
    );
    const after = { parent: this, dependsOn: [args.outputsFile] };
    this.reconciler = new LocalService(`${name}-reconciler`, plans.apply((p) => p.reconciler), after);
    this.api = new LocalService(`${name}-api`, plans.apply((p) => p.api), after);
    this.registerOutputs({ apiEndpoint: this.apiEndpoint });
  }
}
