/**
 * The status page at the API's `/`, in a real browser: headless Chromium (Debian's, installed by
 * scripts/install-chromium.sh) driven by playwright-core against `lakeform api` from the sources
 * on the e2e lakehouse, with a reconciler and a data dir of the test's own (as 14-metrics runs
 * them). The page asks for a token (no data without one); given the read token in the URL's
 * fragment it lists the tables with their state (one synced, one refused with its reason among the
 * failures), the services up, a history chart with a point per commit; an ingest through the API
 * shows up as one more point by the page's own refresh. A screenshot is kept under
 * .lakeform/test-results.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { LakeOutputs } from "../../stacks/automation";
import { readStatus } from "../../lake/status";
import { ensureUp, waitFor } from "./lake";
import { unusedPort } from "../helpers/ports";

const ROOT = path.resolve(__dirname, "../..");
const RESULTS = path.join(ROOT, ".lakeform", "test-results");
const sfx = Date.now().toString(36);
const GOOD = `paged_${sfx}`;
const BAD = `pagebad_${sfx}`;

let outs: LakeOutputs;
let dir: string;
let base: string;
let context: BrowserContext;
let page: Page;
const children: { name: string; child: ChildProcess; log: string }[] = [];

function lakeform(name: string, args: string[], outputsFile: string) {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, LAKEFORM_OUTPUTS_FILE: outputsFile, LAKEFORM_LOG_FORMAT: "json", NODE_NO_WARNINGS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const entry = { name, child, log: "" };
  child.stdout?.on("data", (d) => (entry.log = (entry.log + d).slice(-20_000)));
  child.stderr?.on("data", (d) => (entry.log = (entry.log + d).slice(-20_000)));
  children.push(entry);
  return entry;
}
const died = () => {
  const gone = children.find((c) => c.child.exitCode !== null);
  return gone ? `${gone.name} exited ${gone.child.exitCode}: ${gone.log}` : undefined;
};

beforeAll(async () => {
  outs = await ensureUp();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-page-"));
  fs.writeFileSync(path.join(dir, "seed.csv"), "id,name\n1,ada\n2,grace\n3,alan\n");
  fs.writeFileSync(path.join(dir, "ragged.csv"), "id,name\n1,ada\n2,grace,extra\n");
  fs.writeFileSync(
    path.join(dir, "tables.yaml"),
    `apiVersion: lakeform/v1\ntables:\n  - { name: ${GOOD}, format: hudi, primaryKey: id, sources: [seed.csv] }\n  - { name: ${BAD}, format: iceberg, primaryKey: id, sources: [ragged.csv] }\n`,
  );
  const outputsFile = path.join(dir, "outputs.json");
  fs.writeFileSync(outputsFile, JSON.stringify({ ...outs, dataDir: dir }), { mode: 0o600 });
  const port = await unusedPort();
  base = `http://127.0.0.1:${port}`;
  lakeform("reconciler", ["reconcile", "-f", path.join(dir, "tables.yaml"), "--resync", "600"], outputsFile);
  lakeform("api", ["api", "-f", path.join(dir, "tables.yaml"), "--port", String(port)], outputsFile);
  await waitFor("the API to answer /healthz", async () => ((await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), { timeoutMs: 120_000, gaveUp: died });
  const statusFile = path.join(dir, "reconciler", "status.json");
  await waitFor(
    `${GOOD} in sync and ${BAD} refused`,
    () => {
      const s = readStatus(statusFile);
      return s?.tables[`default.${GOOD}`]?.inSync && s.tables[`default.${BAD}`]?.conditions.some((c) => c.reason === "BadCsv") ? true : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 500, gaveUp: died },
  );
  context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
}, 900_000);

afterAll(async () => {
  await context?.close();
  for (const { child } of children) {
    if (child.exitCode !== null) continue;
    child.kill("SIGTERM");
    const exited = await Promise.race([new Promise((r) => child.once("exit", () => r(true))), new Promise((r) => setTimeout(() => r(false), 60_000))]);
    if (!exited) child.kill("SIGKILL");
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("without a token the page shows only its form; the data routes it reads are 401 to a browser without one; nothing is loaded from elsewhere", async () => {
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  const res = await page.goto(`${base}/`);
  expect(res!.status()).toBe(200);
  expect(res!.headers()["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'/);
  await page.waitForSelector("#login:not([hidden])");
  expect(await page.isHidden("#main")).toBe(true);
  expect((await page.evaluate(async () => (await fetch("/status")).status))).toBe(401);
  expect(requests.filter((u) => !u.startsWith(`${base}/`))).toEqual([]);
});

test("with the read token in the fragment: tables with their state, the refused one's reason among the failures, services up, a chart per table; an ingest shows up by the page's own refresh", async () => {
  await page.goto(`${base}/#token=${encodeURIComponent(outs.apiReadToken)}`);
  // The token leaves the address bar at once; the tab keeps it.
  await page.waitForSelector(`tr[data-table="default.${GOOD}"]`, { timeout: 30_000 });
  expect(new URL(page.url()).hash).toBe("");
  const good = page.locator(`#tables tr[data-table="default.${GOOD}"]`);
  const bad = page.locator(`#tables tr[data-table="default.${BAD}"]`);
  expect(await good.getAttribute("data-synced")).toBe("true");
  expect(await good.locator("td").nth(2).textContent()).toBe("synced");
  expect(await bad.getAttribute("data-synced")).toBe("false");
  expect(await bad.locator("td").nth(3).textContent()).toMatch(/^BadCsv: /);
  expect(await page.locator("#failures li.bad").allTextContents()).toEqual([expect.stringMatching(new RegExp(`^default\\.${BAD}: BadCsv: `))]);
  for (const s of ["s3", "metastore", "spark", "trino"]) expect(await page.locator(`#services li[data-service="${s}"]`).getAttribute("class")).toBe("up");
  const points = async () => Number(await good.locator("svg.chart").getAttribute("data-points"));
  await waitFor("the chart of the synced table", async () => ((await points()) >= 1 ? true : undefined), { timeoutMs: 30_000 });
  const before = await points();
  expect(await good.locator("svg.chart circle").count()).toBe(before);
  expect(await page.locator(`#commits tr[data-table="default.${GOOD}"]`).count()).toBe(before);

  const res = await fetch(`${base}/ingest/${GOOD}`, { method: "POST", headers: { authorization: `Bearer ${outs.apiToken}`, "content-type": "text/csv" }, body: "id,name\n4,edsger\n5,barbara\n" });
  expect(res.status).toBe(200);
  await waitFor("the page to show the ingest's commit", async () => ((await points()) === before + 1 ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  // Rows over commits: the last point is the seed's 3 and the ingest's 2.
  expect(await good.locator("svg.chart title").textContent()).toMatch(/: 5 rows$/);
  fs.mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, "status-page.png"), fullPage: true });
  expect(fs.statSync(path.join(RESULTS, "status-page.png")).size).toBeGreaterThan(10_000);
}, 180_000);
