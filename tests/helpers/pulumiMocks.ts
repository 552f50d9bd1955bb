import * as pulumi from "@pulumi/pulumi";

export interface CreatedResource {
  type: string;
  name: string;
  /** Inputs with secrets unwrapped. */
  inputs: Record<string, any>;
  /** Top-level input names that arrived as secrets. */
  secretInputs: string[];
  /** Names of the resources this one explicitly depends on (dependsOn and input dependencies). */
  dependsOn: string[];
  /** Name of the parent resource. */
  parent?: string;
}

/** The engine's marker for a secret value in serialized inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

function unwrap(v: any): { value: any; secret: boolean } {
  if (Array.isArray(v)) {
    const items = v.map(unwrap);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (v && typeof v === "object") {
    if (SECRET_SIG in v) return { value: unwrap(v.value).value, secret: true };
    let secret = false;
    const out: Record<string, any> = {};
    for (const [k, inner] of Object.entries(v)) {
      const u = unwrap(inner);
      out[k] = u.value;
      secret ||= u.secret;
    }
    return { value: out, secret };
  }
  return { value: v, secret: false };
}

/**
 * What Lakeform's generating resources output at create time, as the provider would (a test's own
 * outputsFor overrides it): a certificate's PEMs are read by the Trino plan.
 */
function generatedOutputs(type: string): Record<string, unknown> {
  if (type.endsWith(":Certificate")) {
    return { certPem: "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n", keyPem: "-----BEGIN PRIVATE KEY-----\nTEST\n-----END PRIVATE KEY-----\n" };
  }
  return {};
}

/**
 * Pulumi's unit-test mocks, recording every resource the program declares. `call` throws for
 * anything not mocked, so a program that starts calling a provider function shows up here.
 */
export function recordResources(
  outputsFor: (type: string, name: string) => Record<string, unknown> = () => ({}),
): CreatedResource[] {
  const created: CreatedResource[] = [];
  const pending = new Map<string, { dependsOn: string[]; parent?: string }>();
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const inputs: Record<string, any> = {};
        const secretInputs: string[] = [];
        for (const [k, v] of Object.entries(args.inputs)) {
          const u = unwrap(v);
          inputs[k] = u.value;
          if (u.secret) secretInputs.push(k);
        }
        const meta = pending.get(args.name);
        created.push({ type: args.type, name: args.name, inputs, secretInputs, dependsOn: meta?.dependsOn ?? [], parent: meta?.parent });
        return { id: `${args.name}-id`, state: { ...args.inputs, name: args.inputs.name ?? args.name, ...generatedOutputs(args.type), ...outputsFor(args.type, args.name) } };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        throw new Error(`unexpected provider call ${args.token}`);
      },
    },
    "lakeform",
    "test",
    false,
  );
  // The mock interface doesn't pass dependencies or parents on; read them off the raw request.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
  monitor.registerResource = (req: any, callback: any) => {
    const deps = new Set<string>(req.getDependenciesList().map(nameOf));
    pending.set(req.getName(), { dependsOn: [...deps], parent: req.getParent() ? nameOf(req.getParent()) : undefined });
    return register(req, callback);
  };
  return created;
}

export function findCreated(created: CreatedResource[], type: string, name: string): CreatedResource {
  const r = created.find((c) => c.type === type && c.name === name);
  if (!r) {
    const have = created.map((c) => `${c.type} ${c.name}`).join("\n  ");
    throw new Error(`no ${type} named ${name}; declared:\n  ${have}`);
  }
  return r;
}

/** Resolves an Output (mocks resolve synchronously-ish, but through promises). */
export function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}
