/**
 * Which Pulumi Lakeform uses (scripts/env.sh, scripts/install-pulumi.sh): a standard install (a
 * `pulumi` on PATH of at least the SDK's version, with its language host beside it) as it is, and
 * the real provider plugins through `pulumi plugin install`; otherwise, or with LAKEFORM_OFFLINE=1,
 * the CLI and stand-ins built into the cache. The scripts run for real in bash; only the `pulumi`
 * they find is a small script of the test's, which answers `version` and records what it is asked.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const SDK = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies["@pulumi/pulumi"] as string;
const NODE_DIR = path.dirname(process.execPath);

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-pulumi-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A `pulumi` of the given version in tmp/<dir>, optionally with a language host beside it. */
function fakePulumi(dir: string, version: string, opts: { languageHost?: boolean; pluginInstallFails?: boolean } = {}): string {
  const bin = path.join(tmp, dir);
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    `#!/bin/sh
echo "$*" >> "${tmp}/calls"
case "$1" in
  version) echo "${version}" ;;
  plugin) ${opts.pluginInstallFails ? "exit 1" : `d="$HOME/.pulumi/plugins/resource-$4-v$5"; mkdir -p "$d"; printf '#!/bin/sh\\n' > "$d/pulumi-resource-$4"; chmod +x "$d/pulumi-resource-$4"`} ;;
esac
`,
    { mode: 0o755 },
  );
  if (opts.languageHost !== false) fs.writeFileSync(path.join(bin, "pulumi-language-nodejs"), "#!/bin/sh\n", { mode: 0o755 });
  return bin;
}

function env(pathDirs: string[], extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { HOME: tmp, LAKEFORM_CACHE: path.join(tmp, "cache"), PATH: [...pathDirs, NODE_DIR, "/usr/bin", "/bin"].join(":"), ...extra };
  return e;
}

/** Sources scripts/env.sh and prints the mode and the `pulumi` that PATH resolves to. */
function sourced(e: NodeJS.ProcessEnv): { mode: string; pulumi: string; version: string } {
  const out = execFileSync("bash", ["-c", `source scripts/env.sh; printf '%s\\n%s\\n%s\\n' "$LAKEFORM_PULUMI" "$(command -v pulumi || true)" "$PULUMI_VERSION"`], {
    cwd: ROOT,
    env: e,
    encoding: "utf8",
  });
  const [mode, pulumi, version] = out.trimEnd().split("\n");
  return { mode, pulumi, version };
}

const ownBin = () => path.join(tmp, "cache", "pulumi", `v${SDK}`, "bin");
const newer = () => `v${SDK.replace(/^(\d+)\.(\d+)\..*$/, (_m, a, b) => `${a}.${Number(b) + 1}.0`)}`;

test("the least CLI is the SDK's version from package.json", () => {
  expect(sourced(env([])).version).toBe(`v${SDK}`);
});

test("a pulumi on PATH of a newer version, with its language host, is used as installed", () => {
  const bin = fakePulumi("pulumi-bin", newer());
  const got = sourced(env([bin]));
  expect(got.mode).toBe("standard");
  expect(got.pulumi).toBe(path.join(bin, "pulumi"));
});

test("the SDK's own version counts as new enough; a pre-release of the next one too", () => {
  expect(sourced(env([fakePulumi("same", `v${SDK}`)])).mode).toBe("standard");
  expect(sourced(env([fakePulumi("pre", `${newer()}-alpha.1`)])).mode).toBe("standard");
});

test("an older CLI, one without a language host beside it, or LAKEFORM_OFFLINE=1: the cache's CLI comes first", () => {
  for (const e of [
    env([fakePulumi("old", "v3.100.0")]),
    env([fakePulumi("bare", newer(), { languageHost: false })]),
    env([fakePulumi("forced", newer())], { LAKEFORM_OFFLINE: "1" }),
    env([fakePulumi("garbled", "not a version")]),
  ]) {
    fs.mkdirSync(ownBin(), { recursive: true });
    fs.writeFileSync(path.join(ownBin(), "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
    const got = sourced(e);
    expect(got.mode).toBe("offline");
    expect(got.pulumi).toBe(path.join(ownBin(), "pulumi"));
  }
});

test("no pulumi at all: offline (the set-up builds one)", () => {
  expect(sourced(env([])).mode).toBe("offline");
});

test("install-pulumi with a standard install installs the real provider plugins and builds nothing", () => {
  const bin = fakePulumi("pulumi-bin", newer());
  const r = spawnSync("bash", ["-c", "source scripts/env.sh && bash scripts/install-pulumi.sh"], { cwd: ROOT, env: env([bin]), encoding: "utf8" });
  expect(r.status).toBe(0);
  const calls = fs.readFileSync(path.join(tmp, "calls"), "utf8");
  const docker = require("@pulumi/docker/package.json").version;
  const minio = require("@pulumi/minio/package.json").version;
  expect(calls).toContain(`plugin install resource docker ${docker}`);
  expect(calls).toContain(`plugin install resource minio ${minio}`);
  expect(fs.existsSync(path.join(tmp, ".pulumi", "plugins", `resource-docker-v${docker}`, "pulumi-resource-docker"))).toBe(true);
  // Neither a CLI nor a stand-in was built into the cache.
  for (const f of ["pulumi", "pulumi-language-nodejs", "pulumi-resource-docker", "pulumi-resource-minio"]) {
    expect(fs.existsSync(path.join(ownBin(), f))).toBe(false);
  }
});

test("a plugin that can't be downloaded falls back to building its stand-in", () => {
  const bin = fakePulumi("pulumi-bin", newer(), { pluginInstallFails: true });
  // No Go on this PATH: the stand-in's build is attempted and fails, which shows the fallback ran.
  const r = spawnSync("bash", ["-c", "source scripts/env.sh && bash scripts/install-pulumi.sh"], { cwd: ROOT, env: env([bin]), encoding: "utf8" });
  expect(r.stderr).toContain("the real docker plugin couldn't be installed: building the stand-in");
  expect(r.stderr).toContain("building Lakeform's stand-in pulumi-resource-docker");
});

test.each(["docker", "minio"])("@pulumi/%s is declared at the very version its stand-in implements", (name) => {
  const declared = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies[`@pulumi/${name}`];
  const supported = new RegExp(`@pulumi/${name} provider plugin \\(the version in package\\.json, ([0-9.]+)\\)`).exec(
    fs.readFileSync(path.join(ROOT, `tools/pulumi-resource-${name}/SUPPORTED.md`), "utf8"),
  )?.[1];
  expect(declared).toBe(supported);
  expect(require(`@pulumi/${name}/package.json`).version).toBe(declared);
});
