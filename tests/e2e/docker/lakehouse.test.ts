/**
 * The docker runtime on a real Docker Engine, driven as a user would (the Automation API on a
 * stack of its own with `lakeform:runtime: docker`): `up` builds Lakeform's images and brings the
 * lakehouse up in containers; a second `up` changes nothing; a container removed behind Pulumi's
 * back is noticed by `refresh` and brought back by `up` with its data (named volumes); the
 * reconciler's example lands a Hudi and an Iceberg table that Trino JOINs; `destroy` leaves no
 * container, network or volume of the stack.
 *
 * Needs an engine and the base images (`bash scripts/docker-engine.sh`); skipped with a notice
 * when no engine answers, unless LAKEFORM_DOCKER_TESTS=1 demands it.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { TrinoClient } from "../../../lake/trino";
import { PROJECT_DIR, readOutputs, type LakeOutputs } from "../../../stacks/automation";
import { buildLakehouse, stackOutputs } from "../../../stacks/index";

const STACK = "e2e-docker";
const sh = promisify(execFile);
const suffix = Date.now().toString(36);

function engineAnswers(): boolean {
  try {
    execFileSync("docker", ["info"], { stdio: "ignore", timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}
const demanded = process.env.LAKEFORM_DOCKER_TESTS === "1";
const available = engineAnswers();
if (!available && !demanded) process.stderr.write("[e2e docker] no Docker Engine answers `docker info`: skipped (bash scripts/docker-engine.sh starts one)\n");
const describeDocker = available || demanded ? describe : describe.skip;

/** The e2e stack's ports (each helper's own), moved to free ones beside them. */
function dockerConfig(): Record<string, { value: string }> {
  const e2e = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.e2e.yaml"), "utf8")).config;
  return {
    "lakeform:runtime": { value: "docker" },
    // The tests drive what they need; no reconciler or API services of the stack.
    "lakeform:services": { value: "false" },
    "lakeform:dataDir": { value: `.lakeform/${STACK}` },
    "lakeform:objectStore": { value: JSON.stringify({ engine: "seaweedfs", port: e2e["lakeform:objectStore"].port + 200 }) },
    "lakeform:metastore": { value: JSON.stringify({ port: e2e["lakeform:metastore"].port + 200, heap: "512m" }) },
    "lakeform:spark": { value: JSON.stringify({ port: e2e["lakeform:spark"].port - 200, workers: 0, driverMemory: "1g" }) },
    "lakeform:trino": { value: JSON.stringify({ port: e2e["lakeform:trino"].port + 200, workers: 0, heap: "1G" }) },
  };
}

/** Names of the stack's containers, networks and volumes on the engine. */
async function dockerObjects(): Promise<string[]> {
  const list = async (args: string[]) => (await sh("docker", args)).stdout.split("\n").filter((n) => n.startsWith(`${STACK}-`));
  return [
    ...(await list(["ps", "-a", "--format", "{{.Names}}"])),
    ...(await list(["network", "ls", "--format", "{{.Name}}"])),
    ...(await list(["volume", "ls", "--format", "{{.Name}}"])),
  ];
}

const verbose = (o: string) => process.env.LAKEFORM_TEST_VERBOSE && process.stderr.write(o);

describeDocker("the docker runtime on a real engine", () => {
  let stack: Stack;
  let outs: LakeOutputs;

  beforeAll(async () => {
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName: STACK, projectName: "lakeform", program: async () => stackOutputs(buildLakehouse(PROJECT_DIR)) },
      { workDir: PROJECT_DIR },
    );
    await stack.setAllConfig(dockerConfig());
    await stack.up({ onOutput: verbose });
    outs = await readOutputs(stack);
  });

  afterAll(async () => {
    if (process.env.LAKEFORM_KEEP_E2E === "1" || !stack) return;
    await stack.destroy({ onOutput: verbose }).catch(() => undefined);
    await stack.workspace.removeStack(STACK).catch(() => undefined);
  });

  test("every service answers on its published port, and only on 127.0.0.1", async () => {
    const health = await fetch(`${outs.sparkJobServer}/healthz`, { signal: AbortSignal.timeout(10_000) });
    // The job server listens on every interface inside its container: the published port reaches it.
    expect(health.ok).toBe(true);
    const { rows } = await new TrinoClient(outs.trinoEndpoint).query("SHOW CATALOGS");
    expect(rows.map((r) => r[0])).toEqual(expect.arrayContaining(["hive", "hudi", "iceberg"]));
    const ps = (await sh("docker", ["ps", "--filter", `name=^${STACK}-`, "--format", "{{.Names}} {{.Ports}}"])).stdout.trim().split("\n");
    expect(ps.length).toBeGreaterThanOrEqual(4);
    for (const line of ps) {
      for (const binding of line.split(" ").slice(1).join(" ").split(", ").filter((b) => b.includes("->"))) {
        expect(binding).toMatch(/^127\.0\.0\.1:\d+->/);
      }
    }
  });

  test("a second up changes nothing", async () => {
    const res = await stack.up({ onOutput: verbose });
    expect(Object.keys(res.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
  });

  test("a removed container is noticed by refresh and brought back by up, with its data", async () => {
    // The metastore: its catalog lives in a named volume. (Not the S3 container: refresh reads the
    // bucket through it, and fails while it is gone, as the real provider does.)
    const t = new TrinoClient(outs.trinoEndpoint);
    const schema = `kept_${suffix}`;
    await t.query(`CREATE SCHEMA hive.${schema}`);
    const container = `${STACK}-lakehouse-metastore-hms`;
    await sh("docker", ["rm", "-f", container]);
    const refreshed = await stack.refresh({ onOutput: verbose });
    expect(refreshed.summary.resourceChanges?.delete ?? 0).toBeGreaterThanOrEqual(1);
    const res = await stack.up({ onOutput: verbose });
    expect(res.summary.resourceChanges?.create ?? 0).toBeGreaterThanOrEqual(1);
    expect((await sh("docker", ["inspect", "-f", "{{.State.Health.Status}}", container])).stdout.trim()).toBe("healthy");
    const { rows } = await t.query("SHOW SCHEMAS FROM hive");
    expect(rows.map((r) => r[0])).toContain(schema);
  });

  test("the reconciler's example lands a Hudi and an Iceberg table that Trino JOINs", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-docker-e2e-"));
    fs.cpSync(path.join(PROJECT_DIR, "examples", "data"), path.join(dir, "data"), { recursive: true });
    const yaml = fs
      .readFileSync(path.join(PROJECT_DIR, "examples", "tables.yaml"), "utf8")
      .replace("name: leads", `name: leads_${suffix}`)
      .replace("name: regions", `name: regions_${suffix}`);
    fs.writeFileSync(path.join(dir, "tables.yaml"), yaml);
    await sh(path.join(PROJECT_DIR, "bin", "lakeform"), ["reconcile", "--once", "-f", path.join(dir, "tables.yaml")], {
      cwd: dir,
      env: { ...process.env, LAKEFORM_STACK: STACK },
      timeout: 20 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const t = new TrinoClient(outs.trinoEndpoint);
    const leads = Number(await t.scalar(`SELECT count(*) FROM hudi.default.leads_${suffix}`));
    expect(leads).toBeGreaterThan(0);
    const joined = Number(
      await t.scalar(
        `SELECT count(*) FROM hudi.default.leads_${suffix} l JOIN iceberg.default.regions_${suffix} r ON l.region_code = r.region_code`,
      ),
    );
    expect(joined).toBeGreaterThan(0);
    expect(joined).toBeLessThanOrEqual(leads);
  });

  test("destroy leaves no container, network or volume of the stack", async () => {
    expect((await dockerObjects()).length).toBeGreaterThan(0);
    await stack.destroy({ onOutput: verbose });
    expect(await dockerObjects()).toEqual([]);
  });
});
