"""Nothing brings a whole source to the driver (issue 11: a 1 GB CSV ingests with a 2 GiB driver).

Read from the job server's code, not run: every call that hands rows to the driver (collect,
toPandas, toLocalIterator, take/head without a bound) and every whole-object read (read_text)
is either bounded by a `.limit(...)` in the same expression, or one of the known call sites
below, each of which returns something bounded by other means (a table's history, a few
properties, one row per partition of a file). A new one fails here, naming file, line and
function: bound it, or add it below with the reason it is bounded.
"""

import ast
import os

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lakeform_jobs")

TO_DRIVER = {"collect", "toPandas", "toLocalIterator", "collectAsList", "read_text"}

# (file, function) -> why what it brings to the driver is bounded
KNOWN = {
    ("csv_source.py", "diagnose"): "line counts per partition of the file (one row per partition)",
    ("csv_source.py", "find_line"): "line counts per partition of the file (one row per partition)",
    ("readers/frames.py", "first_bad"): "line counts per partition of the file (one row per partition)",
    ("expectations_spark.py", "line_numbers"): "line counts per partition of the file (one row per partition)",
    ("formats/iceberg.py", "commits"): "the table's snapshots: its history, bounded by retention",
    ("formats/iceberg.py", "metadata"): "the current metadata file (JSON): its snapshots (bounded by retention) and schemas",
    ("formats/iceberg.py", "write"): "SHOW TBLPROPERTIES: a few properties",
    ("formats/iceberg.py", "maintain"): "results of maintenance procedures: a row of counts, or orphan file names",
    ("formats/hudi.py", "commits"): "one completed instant's metadata (JSON) of the table's timeline",
    ("write.py", "apply_change"): "a change document (JSON of a delete or an update), not a source",
    ("journal.py", "read"): "the journal's entries: one small JSON per write",
    ("doctor.py", "s3_canary"): "the doctor's canary object, written by it: one line",
    ("placement.py", "read"): "a table's placement record: one small JSON written by rebuild.py",
    ("rebuild_core.py", "fingerprint"): "one row of four aggregates (rows, keys, two hash sums)",
}


def calls_to_driver(path: str):
    """(line, function, call name, bounded) for each call of TO_DRIVER in one module."""
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr in TO_DRIVER:
                receiver = ast.unparse(child.func.value)
                found.append((child.lineno, function, child.func.attr, ".limit(" in receiver))
            visit(child, name)

    visit(tree, "<module>")
    return found


def all_calls():
    out = []
    for root, _dirs, files in os.walk(PACKAGE):
        for f in sorted(files):
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(root, f), PACKAGE).replace(os.sep, "/")
                out += [(rel, *c) for c in calls_to_driver(os.path.join(root, f))]
    return out


def test_nothing_unbounded_is_brought_to_the_driver():
    unbounded = [f"{f}:{line} in {fn}(): .{call}()" for f, line, fn, call, bounded in all_calls() if not bounded and (f, fn) not in KNOWN]
    assert unbounded == [], "rows or whole objects brought to the driver without a bound:\n" + "\n".join(unbounded)


def test_every_known_call_site_is_still_there():
    """So the list above doesn't keep excusing code that is gone."""
    sites = {(f, fn) for f, _l, fn, _c, bounded in all_calls() if not bounded}
    assert sorted(set(KNOWN) - sites) == []


def test_the_check_sees_what_it_looks_for(tmp_path):
    """The check itself: an unbounded collect is found, a limited one is not."""
    p = tmp_path / "m.py"
    p.write_text("def f(df):\n    a = df.limit(1).collect()\n    return df.where(x).collect()\n")
    assert calls_to_driver(str(p)) == [(2, "f", "collect", True), (3, "f", "collect", False)]
    # The write path does bring bounded things to the driver: the check finds them.
    assert any(f == "csv_source.py" and bounded for f, _l, _fn, _c, bounded in all_calls())
