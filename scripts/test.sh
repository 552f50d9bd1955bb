#!/usr/bin/env bash
# The test command: installs what's missing, then runs the unit tests (Pulumi mocks, pure logic)
# and the end-to-end tests against a real local lakehouse (stack "e2e", its own ports).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The end-to-end tests also run the MinIO engine: build it too (once, cached).
bash scripts/setup.sh python jars trino minio
# The API fuzz (tests/e2e/11-api-fuzz.test.ts) runs schemathesis: installed once into the cache.
bash scripts/install-schemathesis.sh >/dev/null
# The status page's browser test (tests/e2e/20-status-page.test.ts) drives Debian's chromium.
bash scripts/install-chromium.sh >/dev/null
# shellcheck source=env.sh
source scripts/env.sh
export LAKEFORM_STACK=e2e NODE_NO_WARNINGS=1
node_modules/.bin/tsc -p tsconfig.json --noEmit

results="$root/.lakeform/test-results"
mkdir -p "$results"
rm -f "$results"/*.json "$results"/pytest.xml
status=0
# Go tests of Lakeform's stand-in provider plugins (tools/pulumi-resource-*): unit tests here,
# their integration tests (tiny Pulumi programs on the Docker Engine and on MinIO) further down.
go_test() {
  local dir
  for dir in tools/pulumi-resource-*/; do
    [ -f "$dir/go.mod" ] || continue
    (cd "$dir" && GOFLAGS=-mod=mod GOPATH="${GOPATH:-$LAKEFORM_CACHE/go}" go test -count=1 "$@" ./...) || status=1
  done
}
go_test -short
node_modules/.bin/jest --no-watchman --selectProjects unit --json --outputFile="$results/unit.json" || status=1
# The job server's unit tests (no Spark needed), with the pytest set-up installed from
# jobs/requirements-test.txt into the virtualenv Spark runs from. pytest exits 5 when it collects
# nothing: that is a failure here too, as is any other non-zero code.
py="$(node_modules/.bin/tsx -e 'import { machineInstallPaths } from "./components/local/install"; process.stdout.write(machineInstallPaths().python)')"
"$py" -m pytest -q jobs --junitxml="$results/pytest.xml" || status=1
# The whole suite on the local runtime (the docker runtime's tests run below, on an engine).
node_modules/.bin/jest --no-watchman --forceExit --selectProjects e2e --runInBand --testPathIgnorePatterns /tests/e2e/docker/ --json --outputFile="$results/e2e.json" "$@" || status=1
# The docker runtime on a real Docker Engine: scripts/docker-engine.sh uses one that answers, or
# installs and starts Debian's (CI), and makes the Debian base images once. Without an engine
# (no root, no docker.io) these tests are reported as not run.
if [ "${LAKEFORM_SKIP_DOCKER:-}" != "1" ] && bash scripts/docker-engine.sh; then
  LAKEFORM_REQUIRE_DOCKER_IT=1 go_test
  LAKEFORM_DOCKER_TESTS=1 node_modules/.bin/jest --no-watchman --forceExit --selectProjects e2e --runInBand --json --outputFile="$results/e2e-docker.json" tests/e2e/docker || status=1
else
  echo "[lakeform test] no Docker Engine: the docker runtime's end-to-end tests were not run" >&2
  go_test   # the docker plugin's integration test skips, saying so
fi
if [ "${LAKEFORM_KEEP_E2E:-}" != "1" ]; then
  # Leave no process and no open port behind, whatever the tests did.
  bin/lakeform destroy --yes >/dev/null 2>&1 || true
fi
node -e '
  let passed = 0, failed = 0;
  for (const f of process.argv.slice(1)) {
    try {
      const r = require(f);
      passed += r.numPassedTests;
      failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
      // The wall time of each file, to keep the CI run under its hour.
      for (const t of r.testResults) console.log(`${((t.endTime - t.startTime) / 1000).toFixed(0).padStart(5)} s  ${require("path").relative(process.cwd(), t.name)}`);
    }
    catch { failed += 1; console.error(`no results in ${f}`); }
  }
  const xmlFile = require("path").join(require("path").dirname(process.argv[1]), "pytest.xml");
  const xml = require("fs").existsSync(xmlFile) ? require("fs").readFileSync(xmlFile, "utf8") : "";
  const m = /<testsuite [^>]*errors="(\d+)" failures="(\d+)" skipped="(\d+)" tests="(\d+)"/.exec(xml);
  if (m) { passed += +m[4] - +m[1] - +m[2] - +m[3]; failed += +m[1] + +m[2]; } else { failed += 1; console.error("no pytest results"); }
  console.log(`${passed} passed, ${failed} failed`);
' "$results/unit.json" "$results/e2e.json" $(ls "$results/e2e-docker.json" 2>/dev/null)
exit $status
