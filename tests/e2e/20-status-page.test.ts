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
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { LakeOutputs } from "../../stacks/automation";
import { readStatus } from "../../lake/status";
import { ensureUp, waitFor } from "./lake";
import { LakeformProcesses, testDataDir } from "./lakeformProcesses";

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
let procs: LakeformProcesses;

beforeAll(async () => {
  outs = await ensureUp();
  const ws = testDataDir("page", outs, {
    "seed.csv": "id,name\n1,ada\n2,grace\n3,alan\n",
    "ragged.csv": "id,name\n1,ada\n2,grace,extra\n",
    "tables.yaml": `apiVersion: lakeform/v1\ntables:\n  - { name: ${GOOD}, format: hudi, primaryKey: id, sources: [seed.csv] }\n  - { name: ${BAD}, format: iceberg, primaryKey: id, schemaPolicy: strict, sources: [ragged.csv] }\n`,
  });
  dir = ws.dir;
  procs = new LakeformProcesses(ws.outputsFile);
  const died = procs.died;
  procs.start("reconciler", ["reconcile", "-f", ws.tablesFile, "--resync", "600"]);
  base = await procs.startApi(ws.tablesFile);
  const statusFile = path.join(dir, "reconciler", "status.json");
  await waitFor(
    `${GOOD} in sync and ${BAD} refused`,
    () => {
      const s = readStatus(statusFile);
      if (s?.tables[`default.${GOOD}`]?.inSync && s.tables[`default.${BAD}`]?.conditions.some((c) => c.reason === "BadCsv")) return true;
      // What the reconciler reports meanwhile, and its last lines: the timeout's message.
      throw new Error(`${JSON.stringify([GOOD, BAD].map((t) => [t, s?.tables[`default.${t}`]?.conditions.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`)]))}; reconciler: ${procs.children[0].log.slice(-1500)}`);
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
  await procs?.stopAll();
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

test("with the read token in the fragment: tables with their state, the refused one's reason among the failures, services up, a chart per table, links to Spark's and Trino's UIs; an ingest shows up by the page's own refresh, three requests each", async () => {
  const asked: string[] = [];
  page.on("request", (r) => asked.push(new URL(r.url()).pathname));
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
  expect(await page.locator("#uis a").evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute("href")]))).toEqual([
    ["Spark UI", outs.sparkUi],
    ["Trino UI", `${outs.trinoEndpoint.replace(/\/+$/, "")}/ui/`],
  ]);
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
  // Each refresh is /healthz, /status and one /summary, whatever the number of tables: no request per table.
  expect(asked.filter((p) => p.startsWith("/tables/"))).toEqual([]);
  const summaries = asked.filter((p) => p === "/summary").length;
  expect(summaries).toBeGreaterThanOrEqual(2);
  // (one refresh's three may be reported a moment apart)
  for (const route of ["/status", "/healthz"]) expect(Math.abs(asked.filter((p) => p === route).length - summaries)).toBeLessThanOrEqual(1);
  fs.mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, "status-page.png"), fullPage: true });
  expect(fs.statSync(path.join(RESULTS, "status-page.png")).size).toBeGreaterThan(10_000);
}, 180_000);
