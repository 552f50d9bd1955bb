/**
 * `lakeform status`: the services' health, then the tables. Reads only files and local sockets
 * (the status file, pid files, the API's /healthz), so it answers at once.
 */
import * as fs from "node:fs";
import { pidAlive, readJson } from "../lake/files";
import type { LakeOutputs } from "../lake/outputKeys";
import { apiEndpointFile, servicePaths, statusFile } from "../lake/paths";
import { formatStatus, readStatus } from "../lake/status";
import { formatTables } from "./get";
import { serialize, type OutputFormat } from "./output";

/** The local services, in the order they start. */
export const SERVICES = ["s3", "metastore", "spark", "trino", "reconciler", "api"] as const;

export interface ServiceHealth {
  service: string;
  running: boolean;
  pid?: number;
  /** Supervised services: the supervised process, and how often it was restarted. */
  childPid?: number;
  restarts?: number;
  detail?: string;
}

/** What the supervisor (cli/supervise.ts) reports about the process it keeps running. */
export interface SupervisorState {
  service: string;
  childPid?: number;
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; at: string };
  updatedAt: string;
}

export function serviceHealth(dataDir: string, service: string): ServiceHealth | undefined {
  const { pidFile, supervisorFile } = servicePaths(dataDir, service);
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = readJson<{ pid: number }>(pidFile)?.pid;
  const h: ServiceHealth = { service, running: pidAlive(pid), pid };
  const sup = readJson<SupervisorState>(supervisorFile);
  if (sup) {
    h.childPid = sup.childPid;
    h.restarts = sup.restarts;
    if (h.running && !pidAlive(sup.childPid)) {
      h.running = false;
      h.detail = "restarting";
    }
  }
  return h;
}

/** Whether the API answers HTTP (its /healthz asks Spark and Trino, too slow for a status line). */
async function apiHealthy(endpoint: string): Promise<string> {
  try {
    const res = await fetch(`${endpoint}/openapi.json`, { method: "HEAD", signal: AbortSignal.timeout(1000) });
    return res.status < 500 ? `answers on ${endpoint}` : `HTTP ${res.status} on ${endpoint}`;
  } catch (err) {
    return `not answering on ${endpoint} (${(err as Error).message})`;
  }
}

export async function servicesHealth(dataDir: string, apiEndpoint?: string): Promise<ServiceHealth[]> {
  const all = SERVICES.map((s) => serviceHealth(dataDir, s)).filter((h): h is ServiceHealth => h !== undefined);
  const api = all.find((h) => h.service === "api");
  if (api?.running && apiEndpoint) api.detail = await apiHealthy(apiEndpoint);
  return all;
}

export function formatServices(services: ServiceHealth[]): string {
  if (services.length === 0) return "services: none running (run: lakeform up)";
  const rows = services.map((s) => [
    s.service,
    s.running ? "running" : "DOWN",
    s.childPid ? `${s.childPid}` : s.pid ? `${s.pid}` : "-",
    s.restarts === undefined ? "" : `${s.restarts} restart${s.restarts === 1 ? "" : "s"}`,
    s.detail ?? "",
  ]);
  const header = ["SERVICE", "STATE", "PID", "RESTARTS", "DETAIL"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [fmt(header), ...rows.map(fmt)].join("\n");
}

/** Services a table line's truth rests on: the engines, and the reconciler that checks them. */
const CHECKED_BY = ["s3", "metastore", "spark", "trino", "reconciler"];

/** Why the table lines can't be checked now (which of those services is down), if they can't. */
export function unverifiedBecause(services: ServiceHealth[]): string | undefined {
  const down = services.filter((s) => CHECKED_BY.includes(s.service) && !s.running).map((s) => s.service);
  return down.length === 0 ? undefined : `${down.join(", ")} ${down.length === 1 ? "is" : "are"} down`;
}

/** Where each web UI of the lakehouse answers on this machine (status -o json's `ui`). */
export interface UiUrls {
  /** The API's status page, while the API service runs (its read token asked for there). */
  statusPage?: string;
  /** The job server's Spark UI (HTTP Basic, any user, password: the API's read token). */
  spark?: string;
  /** Trino's web UI (its users' passwords: user lakeform, lakeform outputs trinoPassword). */
  trino?: string;
}

/** The web UIs of this machine: only addresses on 127.0.0.1 (or localhost), only those that run. */
export function uiUrls(outs: Pick<LakeOutputs, "trinoEndpoint" | "dataDir" | "sparkUi">, apiRunning: boolean): UiUrls {
  const local = (u: string | undefined): u is string => u !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(u);
  const api = apiRunning ? apiEndpointFor(outs.dataDir) : undefined;
  const ui: UiUrls = {};
  if (local(api)) ui.statusPage = `${api.replace(/\/+$/, "")}/`;
  if (local(outs.sparkUi)) ui.spark = outs.sparkUi;
  if (local(outs.trinoEndpoint)) ui.trino = `${outs.trinoEndpoint.replace(/\/+$/, "")}/ui/`;
  return ui;
}

/** The web UIs as lines for people, each with the credential it asks. */
export function uiLinks(outs: Pick<LakeOutputs, "trinoEndpoint" | "dataDir" | "sparkUi" | "trinoUser">, apiRunning: boolean): string[] {
  const ui = uiUrls(outs, apiRunning);
  const links: string[] = [];
  if (ui.statusPage) links.push(`status page: ${ui.statusPage} (the API's read token: lakeform outputs apiReadToken --show-secrets)`);
  if (ui.spark) links.push(`spark UI:    ${ui.spark} (any user, the API's read token as password)`);
  // Lakeform's writer: the stack's trinoUser where Trino is external, else lake/trino.ts's TRINO_USERS.admin (not imported: status stays light).
  if (ui.trino) links.push(`trino UI:    ${ui.trino} (user ${outs.trinoUser ?? "lakeform"}, password: lakeform outputs trinoPassword --show-secrets)`);
  return links;
}

/** The API's address, as the services component records it beside its pid file. */
export function apiEndpointFor(dataDir: string): string | undefined {
  return readJson<{ endpoint: string }>(apiEndpointFile(dataDir))?.endpoint;
}

export async function statusCommand(outs: LakeOutputs, opts: { format?: OutputFormat; watch?: boolean }): Promise<number> {
  const file = statusFile(outs.dataDir);
  const format = opts.format ?? "table";
  const show = async () => {
    const services = await servicesHealth(outs.dataDir, apiEndpointFor(outs.dataDir));
    const status = readStatus(file);
    const apiRunning = services.some((s) => s.service === "api" && s.running);
    if (format === "json" || format === "yaml") {
      process.stdout.write(serialize({ services, ui: uiUrls(outs, apiRunning), ...(status ?? { tables: {} }) }, format));
    } else if (format === "wide") {
      process.stdout.write(formatServices(services) + "\n\n");
      if (status?.specError) process.stdout.write(`tables.yaml: INVALID (serving the last valid version)\n${status.specError}\n\n`);
      process.stdout.write((status ? formatTables(Object.values(status.tables).sort((a, b) => a.table.localeCompare(b.table)), true) : "no status yet: the reconciler has not finished a pass") + "\n");
    } else {
      process.stdout.write(formatServices(services) + "\n");
      for (const l of uiLinks(outs, apiRunning)) process.stdout.write(l + "\n");
      process.stdout.write("\n");
      process.stdout.write((status ? formatStatus(status, new Date(), { unverified: unverifiedBecause(services) }) : "no status yet: the reconciler has not finished a pass") + "\n");
    }
    if (!status) return 1;
    return Object.values(status.tables).every((t) => t.inSync) && !status.specError ? 0 : 2;
  };
  if (!opts.watch) return show();
  for (;;) {
    process.stdout.write("\x1b[2J\x1b[H" + new Date().toISOString() + "\n");
    await show();
    await new Promise((r) => setTimeout(r, 2000));
  }
}
