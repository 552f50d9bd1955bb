import { detectFormat, landingExtension, sourceRead, type SourceReadRequest } from "../../lake/sourceFormat";
import { parseTables } from "../../lake/spec";

describe("source formats", () => {
  test.each([
    ["data/a.csv", "csv", "none", ".csv"],
    ["data/a.CSV.GZ", "csv", "gzip", ".csv.gz"],
    ["data/a.tsv.bz2", "tsv", "bzip2", ".tsv.bz2"],
    ["data/a.jsonl.zst", "jsonl", "zstd", ".jsonl"],
    ["s3://b/k/part.parquet", "parquet", "none", ".parquet"],
    ["data/a.ndjson", "jsonl", "none", ".jsonl"],
    ["data/export.txt", "csv", "none", ".csv"],
    ["data/noext", "csv", "none", ".csv"],
  ])("%s is %s, %s, landing as %s", (name, format, compression, ext) => {
    const d = detectFormat(name);
    expect(d).toEqual({ format, compression });
    expect(landingExtension(d)).toBe(ext);
  });

  test("a declared format wins over the extension", () => {
    expect(detectFormat("data/x.txt.gz", { format: "tsv" })).toEqual({ format: "tsv", compression: "gzip" });
  });

  test("a source's CSV options go over its table's; a replay takes the table's; zstd is read as landed, plain", () => {
    const spec = { csv: { delimiter: ";", header: true }, sourceReads: { "data/x.csv": { csv: { delimiter: "|" } } } };
    expect(sourceRead(spec, { declared: "data/x.csv", location: "/abs/data/x.csv" }).request).toEqual({ format: "csv", compression: "none", csv: { delimiter: "|", header: true } });
    expect(sourceRead(spec, { declared: "data/x.csv", location: "s3://w/_lakeform/landing/ab/h.csv", replay: {} }).request.csv).toEqual({ delimiter: ";", header: true });
    expect(sourceRead({}, { declared: "a.jsonl.zst", location: "/a.jsonl.zst" }).request).toEqual({ format: "jsonl", compression: "none" });
    expect(sourceRead({}, { declared: "a.parquet", location: "/a.parquet" }).request.csv).toBeUndefined();
    expect(() => sourceRead({}, { declared: "a.parquet.gz", location: "/a.parquet.gz" })).toThrow(/compressed inside/);
  });

  test("a replay whose journal record kept its read is sent that read as it is, over the extension and without the table's options", () => {
    const spec = { csv: { delimiter: "|" }, sourceReads: { "journal:eu/march.csv": { csv: { delimiter: "," } } } };
    const read: SourceReadRequest = { format: "tsv", compression: "gzip", csv: { delimiter: ";", quote: '"', header: false, encoding: "iso-8859-1", nullValues: ["NA"] } };
    const replay = { of: "1", last: "1" };
    expect(sourceRead(spec, { declared: "journal:eu/march.csv", location: "s3://w/_lakeform/landing/ab/h.csv", replay, read })).toEqual({ detected: { format: "tsv", compression: "gzip" }, request: read });
    // Nothing said (an API upload's record): sent nothing, read by the extension, plain, as its write was.
    expect(sourceRead(spec, { declared: "journal:upload.csv", location: "s3://w/_lakeform/landing/ab/h.csv", replay, read: {} }).request).toEqual({});
    // A declared source (no replay) never takes a read from anywhere but tables.yaml.
    expect(sourceRead(spec, { declared: "journal:eu/march.csv", location: "/x.csv", read }).request).toEqual({ format: "csv", compression: "none", csv: { delimiter: "," } });
  });
});

describe("tables.yaml: formats, CSV options, declared columns, schemaPolicy", () => {
  const yaml = (extra: string, sources = "[data/a.csv]") =>
    `tables:\n  - name: t\n    format: iceberg\n    primaryKey: id\n    sources: ${sources}\n${extra}`;

  test("columns are sanitised and their types normalised; source objects keep their read options by path", () => {
    const { tables } = parseTables(
      yaml(`    columns: { Amount: "decimal(12, 2)", "Created At": timestamp, zip: String, n: long }\n    csv: { delimiter: ";", nullValues: NA }\n    schemaPolicy: discardRows\n`, `[data/a.csv, { path: data/b.dat, format: tsv, csv: { header: false } }]`),
      "tables.yaml",
    );
    const t = tables[0];
    expect(t.columns).toEqual({ amount: "decimal(12,2)", created_at: "timestamp", zip: "string", n: "bigint" });
    expect(t.sources).toEqual(["data/a.csv", "data/b.dat"]);
    expect(t.sourceReads).toEqual({ "data/b.dat": { format: "tsv", csv: { header: false } } });
    expect(t.csv).toEqual({ delimiter: ";", nullValues: ["NA"] });
    expect(t.schemaPolicy).toBe("discardRows");
  });

  test("nullValues: a value or a list of several, kept in order", () => {
    const t = parseTables(yaml(`    csv: { nullValues: [NA, "n/a", "-"] }\n`), "tables.yaml").tables[0];
    expect(t.csv).toEqual({ nullValues: ["NA", "n/a", "-"] });
  });

  test("a table without any of them keeps its generation's shape (nothing added)", () => {
    const t = parseTables(yaml(""), "tables.yaml").tables[0];
    expect(t.columns).toBeUndefined();
    expect(t.sourceReads).toBeUndefined();
    expect(t.csv).toBeUndefined();
  });

  test.each([
    [`    columns: { a: money }\n`, /must be string, int/],
    [`    columns: { a: "decimal(40,2)" }\n`, /decimal\(p,s\) needs/],
    [`    schemaPolicy: evolve\n`, /schemaPolicy/],
    [`    csv: { quote: "''" }\n`, /one character/],
    [`    csv: { nullValues: [${Array.from({ length: 21 }, (_, i) => `n${i}`).join(", ")}] }\n`, /a value or a list of 1 to 20/],
    [`    csv: { nullValues: [] }\n`, /tables.yaml:6: tables.0.csv.nullValues: Too small/],
  ])("refused with its field: %s", (extra, message) => {
    expect(() => parseTables(yaml(extra), "tables.yaml")).toThrow(message);
  });
});
