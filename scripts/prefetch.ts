/**
 * Installs everything the local runtime runs into the cache before the first `up`, with progress,
 * so `up` itself only starts processes. Safe to run again: what's there is kept.
 */
import { cacheDir, ensureInstalled, type InstallTarget } from "../components/local/install";

async function main() {
  const targets = (process.argv.slice(2).length ? process.argv.slice(2) : ["python", "jars", "trino"]) as InstallTarget[];
  process.env.LAKEFORM_INSTALL_VERBOSE = "1";
  for (const t of targets) {
    const started = Date.now();
    process.stderr.write(`[lakeform setup] ${t}: checking\n`);
    await ensureInstalled([t]);
    process.stderr.write(`[lakeform setup] ${t}: ready (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
  }
  process.stderr.write(`[lakeform setup] cache: ${cacheDir()}\n`);
}

main().catch((err) => {
  process.stderr.write(`[lakeform setup] failed: ${(err as Error).message}\n`);
  process.exit(1);
});
