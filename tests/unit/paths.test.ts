/**
 * One module for a stack's paths (lake/paths.ts) and one for the file helpers (lake/files.ts):
 * the container names the command line prints are the ones the docker plans give the engines'
 * servers, an atomic write leaves no temporary file and keeps its mode, and a pid is alive
 * exactly while its process runs.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { metastoreDockerPlan } from "../../components/metastore";
import { objectStoreDockerPlan } from "../../components/objectStore";
import type { DockerPlan } from "../../components/plans";
import { sparkDockerPlan } from "../../components/spark";
import { trinoDockerPlan } from "../../components/trino";
import { pidAlive, readJson, writeFileAtomic, writeJsonAtomic } from "../../lake/files";
import { engineContainer, LAKEHOUSE, outputsFile, servicePaths, statusFile } from "../../lake/paths";
import { testToolchain } from "../helpers/toolchain";
import { CONN, TRINO_SECRETS } from "./components/conn";

const tc = testToolchain({ local: undefined });
const server = (plan: DockerPlan) => plan.containers.find((c) => c.name === plan.server)!.hostname;

test("the container `lakeform logs` names for each engine is the one its docker plan runs the server in", () => {
  const prefix = "box";
  expect(engineContainer(prefix, "s3", "seaweedfs")).toBe(server(objectStoreDockerPlan({ name: `${LAKEHOUSE}-s3`, engine: "seaweedfs", port: 8333, prefix }, tc, CONN)));
  expect(engineContainer(prefix, "s3", "minio")).toBe(server(objectStoreDockerPlan({ name: `${LAKEHOUSE}-s3`, engine: "minio", port: 9000, prefix }, tc, CONN)));
  expect(engineContainer(prefix, "metastore")).toBe(server(metastoreDockerPlan({ name: `${LAKEHOUSE}-metastore`, port: 9083, heap: "512m", prefix }, tc, CONN)));
  expect(engineContainer(prefix, "spark")).toBe(server(sparkDockerPlan({ name: `${LAKEHOUSE}-spark`, port: 8998, workers: 2, driverMemory: "2g", workerMemory: "2g", prefix }, tc, CONN, "job-server-secret-for-plans")));
  expect(engineContainer(prefix, "trino")).toBe(server(trinoDockerPlan({ name: `${LAKEHOUSE}-trino`, port: 8080, workers: 1, heap: "2G", prefix }, tc, CONN, TRINO_SECRETS)));
});

test("a stack's files are under its data directory, one folder per service", () => {
  expect(outputsFile("/d")).toBe("/d/outputs.json");
  expect(statusFile("/d")).toBe("/d/reconciler/status.json");
  expect(servicePaths("/d", "api")).toEqual({
    root: "/d/api", data: "/d/api/data", conf: "/d/api/conf", logFile: "/d/api/logs/api.log", pidFile: "/d/api/api.pid", supervisorFile: "/d/api/supervisor.json",
  });
});

describe("file helpers", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-files-"));

  test("an atomic write replaces the file whole, makes its folder, leaves no temporary file, and sets the mode asked for", () => {
    const file = path.join(dir, "sub", "outputs.json");
    writeJsonAtomic(file, { a: 1 }, { mode: 0o600 });
    writeJsonAtomic(file, { a: 2 }, { mode: 0o600 });
    expect(readJson(file)).toEqual({ a: 2 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["outputs.json"]);
  });

  test("a failed write leaves the old file and no temporary file", () => {
    const file = path.join(dir, "kept.txt");
    writeFileAtomic(file, "old");
    fs.mkdirSync(`${file}.d`);
    // Renaming onto a folder fails: the write must not leave its temporary file behind.
    expect(() => writeFileAtomic(`${file}.d`, "new")).toThrow();
    expect(fs.readFileSync(file, "utf8")).toBe("old");
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  test("readJson of a missing or broken file is undefined", () => {
    fs.writeFileSync(path.join(dir, "broken.json"), "{");
    expect(readJson(path.join(dir, "broken.json"))).toBeUndefined();
    expect(readJson(path.join(dir, "none.json"))).toBeUndefined();
  });

  test("a pid is alive while its process runs, not once it exited, and pid 1 (another user's, EPERM or not) is alive", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    await new Promise((r) => child.once("spawn", r));
    expect(pidAlive(child.pid)).toBe(true);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(pidAlive(child.pid)).toBe(false);
    expect(pidAlive(1)).toBe(true);
    expect([pidAlive(undefined), pidAlive(0), pidAlive(-5)]).toEqual([false, false, false]);
  });
});
