import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lineTime, logsCommand, parseSince } from "../../cli/logs";
import { formatServices } from "../../cli/status";
import { outputsCacheFile, readOutputsCache, stackDataDir, stackSetting, writeOutputsCache } from "../../lake/stackData";
import { OUTPUT_KEYS, type LakeOutputs } from "../../lake/outputKeys";

describe("lakeform logs --since", () => {
  const now = Date.parse("2026-11-25T10:00:00Z");
  it("takes durations back from now", () => {
    expect(parseSince("30s", now)).toBe(now - 30_000);
    expect(parseSince("10m", now)).toBe(now - 600_000);
    expect(parseSince("2h", now)).toBe(now - 7_200_000);
    expect(parseSince("1d", now)).toBe(now - 86_400_000);
  });
  it("takes an ISO-8601 time", () => {
    expect(parseSince("2026-11-25T09:00:00Z", now)).toBe(Date.parse("2026-11-25T09:00:00Z"));
  });
  it("refuses anything else, saying what it takes", () => {
    expect(() => parseSince("yesterday-ish", now)).toThrow(/not a duration \(30s, 10m, 2h, 1d\) or an ISO-8601 time/);
  });
  it("reads pino's time, and nothing from plain lines", () => {
    expect(lineTime('{"level":30,"time":1764064800000,"msg":"x"}')).toBe(1764064800000);
    expect(lineTime("2026-11-25 INFO plain engine line")).toBeUndefined();
    expect(lineTime("{not json")).toBeUndefined();
  });
});

describe("stack files without the Pulumi CLI", () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-stack-"));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("finds the data directory in Pulumi.<stack>.yaml, or the default", () => {
    fs.writeFileSync(path.join(root, "Pulumi.e2e.yaml"), "config:\n  lakeform:runtime: local\n  lakeform:dataDir: .lakeform/e2e\n  lakeform:tablesFile: 'x/tables.yaml'\n");
    expect(stackDataDir("e2e", root)).toBe(path.join(root, ".lakeform/e2e"));
    expect(stackSetting("tablesFile", "e2e", root)).toBe("x/tables.yaml");
    expect(stackDataDir("nosuch", root)).toBe(path.join(root, ".lakeform/dev"));
  });

  it("caches the outputs readable only by their owner, and ignores an incomplete cache", () => {
    const outs = Object.fromEntries(OUTPUT_KEYS.map((k) => [k, `value-of-${k}`])) as LakeOutputs;
    const file = outputsCacheFile(path.join(root, ".lakeform/dev"));
    writeOutputsCache(file, outs);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readOutputsCache(file)).toEqual(outs);
    fs.writeFileSync(file, JSON.stringify({ ...outs, apiToken: undefined }));
    expect(readOutputsCache(file)).toBeUndefined();
  });
});

describe("lakeform status: services", () => {
  it("shows each service's state, the supervised pid and its restarts", () => {
    const text = formatServices([
      { service: "trino", running: true, pid: 10 },
      { service: "reconciler", running: false, pid: 11, childPid: undefined, restarts: 2, detail: "restarting" },
    ]);
    expect(text.split("\n")[0]).toMatch(/^SERVICE\s+STATE\s+PID\s+RESTARTS\s+DETAIL$/);
    expect(text).toMatch(/trino\s+running\s+10/);
    expect(text).toMatch(/reconciler\s+DOWN\s+11\s+2 restarts\s+restarting/);
  });
});

describe("lakeform logs on the docker runtime", () => {
  const saved = { root: process.env.LAKEFORM_ROOT, stack: process.env.LAKEFORM_STACK };
  afterEach(() => {
    for (const [k, v] of [["LAKEFORM_ROOT", saved.root], ["LAKEFORM_STACK", saved.stack]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    jest.restoreAllMocks();
  });

  async function logsOf(service: string, stackYaml: string): Promise<{ code: number; err: string }> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-logs-"));
    fs.writeFileSync(path.join(root, "Pulumi.box.yaml"), stackYaml);
    process.env.LAKEFORM_ROOT = root;
    process.env.LAKEFORM_STACK = "box";
    let err = "";
    jest.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
    const code = await logsCommand(path.join(root, ".lakeform", "box"), service, {});
    return { code, err };
  }

  test("an engine's log is in its container: the message names it", async () => {
    const docker = "config:\n  lakeform:runtime: docker\n  lakeform:objectStore:\n    engine: minio\n";
    expect(await logsOf("trino", docker)).toEqual({ code: 1, err: expect.stringContaining("docker logs box-lakehouse-trino-coordinator") });
    expect((await logsOf("s3", docker)).err).toContain("docker logs box-lakehouse-s3-minio");
    expect((await logsOf("spark", "config:\n  lakeform:runtime: docker\n")).err).toContain("docker logs box-lakehouse-spark-job-server");
  });

  test("on the local runtime, and for the host's own services, it names the missing file", async () => {
    expect((await logsOf("trino", "config:\n  lakeform:runtime: local\n")).err).toMatch(/no log for trino at .*trino\.log/);
    expect((await logsOf("reconciler", "config:\n  lakeform:runtime: docker\n")).err).toMatch(/no log for reconciler at /);
  });
});
