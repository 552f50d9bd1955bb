import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installPaths, readPythonVersion } from "../../../components/local/install";
import { programFiles, requireLocal, treeHash } from "../../../components/toolchain";
import { testToolchain } from "../../helpers/toolchain";

function tmpTree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-tree-"));
  for (const [f, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), content);
  }
  return dir;
}

test("the job program's hash covers the whole tree, nested package files included", () => {
  const dir = tmpTree({ "job_server.py": "main", "lakeform_jobs/formats/hudi.py": "a", "lakeform_jobs/data.json": "{}" });
  const before = treeHash(dir);
  fs.writeFileSync(path.join(dir, "lakeform_jobs/formats/hudi.py"), "b");
  expect(treeHash(dir)).not.toBe(before);
  fs.writeFileSync(path.join(dir, "lakeform_jobs/formats/hudi.py"), "a");
  expect(treeHash(dir)).toBe(before);
  // A renamed file with the same content is a different program.
  fs.renameSync(path.join(dir, "lakeform_jobs/data.json"), path.join(dir, "lakeform_jobs/other.json"));
  expect(treeHash(dir)).not.toBe(before);
});

test("bytecode caches and test caches are not program", () => {
  const dir = tmpTree({ "job_server.py": "main", "lakeform_jobs/__init__.py": "" });
  const before = treeHash(dir);
  fs.mkdirSync(path.join(dir, "lakeform_jobs/__pycache__"));
  fs.writeFileSync(path.join(dir, "lakeform_jobs/__pycache__/x.cpython-311.pyc"), "bytes");
  fs.mkdirSync(path.join(dir, ".pytest_cache"));
  fs.writeFileSync(path.join(dir, ".pytest_cache/v"), "x");
  expect(treeHash(dir)).toBe(before);
  expect(programFiles(dir)).toEqual(["job_server.py", "lakeform_jobs/__init__.py"]);
});

test("install paths follow the virtualenv's Python version instead of assuming one", () => {
  expect(installPaths("/c", "3.13").sparkHome).toMatch(/\/lib\/python3\.13\/site-packages\/pyspark$/);
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-cache-"));
  const venvLib = path.join(path.dirname(installPaths(cache, "3.9").venv), path.basename(installPaths(cache, "3.9").venv), "lib", "python3.12");
  fs.mkdirSync(venvLib, { recursive: true });
  expect(readPythonVersion(cache)).toBe("3.12");
});

test("a local plan without Java homes fails naming the component and the fix", () => {
  expect(() => requireLocal(testToolchain({ local: undefined }), "Trino")).toThrow(/Trino: .*readToolchain\("local"\)/);
});
