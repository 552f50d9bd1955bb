/**
 * The Python set-up installs (components/local/install.ts): pinned requirements files, every
 * package at one exact version, and the job server's pyspark the Spark of the version matrix
 * (its jars, Hudi's and Iceberg's bundles, are built for that Spark).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PYTHON_REQUIREMENTS } from "../../components/local/install";
import { VERSIONS } from "../../components/versions";

const ROOT = path.resolve(__dirname, "../..");
const pins = (file: string) =>
  fs
    .readFileSync(path.join(ROOT, file), "utf8")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);

test.each(PYTHON_REQUIREMENTS)("%s pins every package to one version", (file) => {
  const lines = pins(file);
  expect(lines.length).toBeGreaterThan(0);
  for (const l of lines) expect(l).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.]*$/);
});

test("the job server's pyspark is VERSIONS.spark; pytest and prometheus-client are the tests'", () => {
  expect(pins("jobs/requirements.txt")).toContain(`pyspark==${VERSIONS.spark}`);
  const test = pins("jobs/requirements-test.txt").map((l) => l.split("==")[0].toLowerCase());
  expect(test).toEqual(expect.arrayContaining(["pytest", "prometheus-client"]));
});
