/**
 * A dynamic provider whose methods load their implementation by path in the provider process
 * (through tsx's CommonJS hook, so no build step): the serialized closures stay tiny and the
 * implementation is ordinary, testable TypeScript. Every dynamic resource of Lakeform uses it
 * (the local runtime's services, bucket and credentials; tables; the services' outputs file).
 */
import * as pulumi from "@pulumi/pulumi";

export function implProvider(implPath: string, kind: string): pulumi.dynamic.ResourceProvider {
  const impl = implPath;
  const name = kind;
  // Each method is serialized on its own: keep every one self-contained.
  const load = () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("tsx/cjs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(impl)[name];
  };
  return {
    create: (inputs) => load().create(inputs),
    read: (id, props) => (load().read ? load().read(id, props) : Promise.resolve({ id, props })),
    diff: (id, olds, news) => load().diff(id, olds, news),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => (load().delete ? load().delete(id, props) : Promise.resolve()),
  };
}
