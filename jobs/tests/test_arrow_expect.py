"""Expectations on the Arrow path (arrow/expect.py, pyarrow.compute): every rule (not_null, unique,
in, range, matches, filter) and action (warn, drop, quarantine, fail), and parity with the Spark
path: the same file through expectations_spark.check on a local Spark gives the same counts, the
same samples, the same rows kept and the same quarantined rows (quarantine_rows); a pattern's and
a filter's answers are Spark's over typed columns with nulls; a value's text in the quarantine
table is Spark's cast; what the Arrow path can't promise to evaluate alike is handed to Spark."""

import datetime as dt
import os
import struct
from decimal import Decimal
from types import SimpleNamespace

import pytest

pa = pytest.importorskip("pyarrow")
pyspark = pytest.importorskip("pyspark")

from lakeform_jobs import expectations_spark as spark_expect  # noqa: E402
from lakeform_jobs.arrow import expect, predicate, quarantine, regex  # noqa: E402
from lakeform_jobs.arrow.reader import Decline, read_source  # noqa: E402
from lakeform_jobs.errors import JobFailure  # noqa: E402
from lakeform_jobs.expectations import parse_all  # noqa: E402

CSV = b"id,amount,region,zip,status\n1,10.5,EU,12345,ok\n2,-3,US,1234,ok\n3,7,MARS,54321,void\n4,,EU,99999,ok\n5,8,EU,12345,ok\n"
HASH = "ab" * 32


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[1]").appName("lakeform-arrow-expect-test")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield s
    s.stop()


def run(rules, data=CSV):
    return expect.check(parse_all(rules), read_source(data, {}), "orders.csv")


def both(spark, tmp_path, rules, data=CSV, name="orders.csv"):
    """The same file through the Spark path's expectations and the Arrow path's: (spark, arrow),
    each (rows kept as dicts by id, the quarantine table's rows, the outcome)."""
    from lakeform_jobs.arrow.reader import read_parquet
    from lakeform_jobs.catalog import Storage
    from lakeform_jobs.readers import ReadOptions
    from lakeform_jobs.readers.source import Readers

    parsed = parse_all(rules)
    p = os.path.join(str(tmp_path), name)
    with open(p, "wb") as f:
        f.write(data)
    uri = "file://" + p
    readers = Readers(spark, Storage(spark))
    r = readers.open(uri, read=ReadOptions.parse({}, uri))
    df = readers.rows(r, ["id"], False, position=True)
    parquet = name.endswith(".parquet")
    kept, q, out = spark_expect.check(parsed, df, "orders.csv", None if parquet else readers.csv.lines(r))
    user = [c for c in df.columns if not c.startswith("__lf_")]
    s_kept = sorted(({c: row[c] for c in user} for row in kept.collect()), key=lambda x: x["id"])
    s_q = sorted((row.asDict() for row in spark_expect.quarantine_rows(parsed, q, user, HASH, "orders.csv").collect()), key=lambda x: x["_line"]) if q is not None else []
    a = expect.check_all(parsed, read_parquet(data, {}) if parquet else read_source(data, {}), "orders.csv", HASH, quarantine.JavaText(spark))
    a_kept = sorted(({k: expect._as_spark_row(v) for k, v in row.items()} for row in a.kept.to_pylist()), key=lambda x: x["id"])
    a_q = sorted(a.quarantine.to_pylist(), key=lambda x: x["_line"]) if a.quarantine is not None else []
    return (s_kept, s_q, out), (a_kept, a_q, a.outcome)


def same(s, a):
    (s_kept, s_q, s_out), (a_kept, a_q, a_out) = s, a
    assert a_out.failed == s_out.failed
    assert (a_out.left_out, a_out.quarantined) == (s_out.left_out, s_out.quarantined)
    assert a_out.samples == s_out.samples
    assert a_out.meta() == s_out.meta()
    assert a_kept == s_kept
    assert a_q == s_q


# ------------------------------------------------------------------------------ each rule, each action


def test_counts_as_the_spark_path_counts_them():
    kept, out = run([
        {"name": "has_amount", "rule": "not_null", "column": "amount", "action": "warn"},
        {"name": "region", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "warn"},
        {"name": "positive", "rule": "range", "column": "amount", "min": "0", "action": "warn"},
        {"name": "zip_unique", "rule": "unique", "column": "zip", "action": "warn"},
        {"name": "small", "rule": "range", "column": "id", "max": "4.5", "action": "warn"},
        {"name": "zip5", "rule": "matches", "column": "zip", "pattern": "[0-9]{5}", "action": "warn"},
        {"name": "live", "rule": "filter", "filter": "status <> 'void' AND id < 100", "action": "warn"},
    ])
    assert out.failed == {"has_amount": 1, "region": 1, "positive": 1, "zip_unique": 2, "small": 1, "zip5": 1, "live": 1}
    assert len(kept) == 5 and out.left_out == 0
    assert out.samples["positive"] == ["orders.csv, line 3: id=2, amount=-3.0, region='US', zip=1234, status='ok'"]
    assert [s.split(":")[0] for s in out.samples["zip_unique"]] == ["orders.csv, line 2", "orders.csv, line 6"]
    assert out.samples["zip5"] == ["orders.csv, line 3: id=2, amount=-3.0, region='US', zip=1234, status='ok'"]
    assert out.samples["live"] == ["orders.csv, line 4: id=3, amount=7.0, region='MARS', zip=54321, status='void'"]


def test_drop_leaves_rows_out_and_fail_names_the_line():
    kept, out = run([{"name": "positive", "rule": "range", "column": "amount", "min": "0", "action": "drop"}, {"name": "known", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "drop"}])
    assert kept.column("id").to_pylist() == [1, 4, 5] and out.left_out == 2
    _, out = run([{"name": "id_small", "rule": "range", "column": "id", "max": "2", "action": "fail"}])
    f = out.failure()
    assert f is not None and f.code == "EXPECTATION_FAILED" and "3 row(s)" in f.message and "orders.csv, line 4" in f.message
    _, out = run([{"name": "live", "rule": "filter", "filter": "status <> 'void'", "action": "fail"}])
    assert out.failure().message == "expectation live (status <> 'void', action fail): 1 row(s) broke it, e.g. orders.csv, line 4: id=3, amount=7.0, region='MARS', zip=54321, status='void'; the table was left as it was"


def test_quarantine_leaves_rows_out_and_keeps_them_as_the_spark_path_does(spark):
    c = expect.check_all(parse_all([
        {"name": "positive", "rule": "range", "column": "amount", "min": "0", "action": "drop"},
        {"name": "region", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"},
        {"name": "zip5", "rule": "matches", "column": "zip", "pattern": "[0-9]{5}", "action": "quarantine"},
    ]), read_source(CSV, {}), "orders.csv", HASH, quarantine.JavaText(spark))
    assert c.kept.column("id").to_pylist() == [1, 4, 5]
    assert c.outcome.failed == {"positive": 1, "region": 1, "zip5": 1} and c.outcome.left_out == 2 and c.outcome.quarantined == 2
    # Line 3 broke positive (drop) and zip5 (quarantine): quarantined, as on the Spark path.
    assert c.quarantine.to_pylist() == [
        {"_qkey": "abababababababab:3", "id": "2", "amount": "-3.0", "region": "US", "zip": "1234", "status": "ok", "_rule": "zip5", "_reason": "broke zip matches '[0-9]{5}'", "_source": "orders.csv", "_line": 3},
        {"_qkey": "abababababababab:4", "id": "3", "amount": "7.0", "region": "MARS", "zip": "54321", "status": "void", "_rule": "region", "_reason": "broke region in (EU, US)", "_source": "orders.csv", "_line": 4},
    ]
    assert c.quarantine.schema.field("_line").type == pa.int64() and all(c.quarantine.schema.field(n).type == pa.string() for n in c.quarantine.column_names if n != "_line")


def test_a_fail_rule_quarantines_nothing(spark):
    c = expect.check_all(parse_all([
        {"name": "region", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"},
        {"name": "small", "rule": "range", "column": "id", "max": "2", "action": "fail"},
    ]), read_source(CSV, {}), "orders.csv", HASH, quarantine.JavaText(spark))
    assert c.outcome.failure() is not None and c.quarantine is None


# ------------------------------------------------------------------------------ parity with the Spark path


PARITY = [
    [
        {"name": "has_amount", "rule": "not_null", "column": "amount", "action": "warn"},
        {"name": "region", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"},
        {"name": "positive", "rule": "range", "column": "amount", "min": "0", "action": "drop"},
        {"name": "zip5", "rule": "matches", "column": "zip", "pattern": "[0-9]{5}", "action": "quarantine"},
        {"name": "zip_unique", "rule": "unique", "column": "zip", "action": "warn"},
        {"name": "live", "rule": "filter", "filter": "status <> 'void' AND id < 100", "action": "quarantine"},
    ],
    [
        {"name": "amount_set", "rule": "filter", "filter": "amount > 0 OR amount IS NULL", "action": "drop"},
        {"name": "not_mars", "rule": "filter", "filter": "NOT region IN ('MARS', NULL)", "action": "quarantine"},
        {"name": "eu_like", "rule": "filter", "filter": "region LIKE '_U' OR zip BETWEEN 50000 AND 60000.5", "action": "warn"},
        {"name": "status_word", "rule": "matches", "column": "status", "pattern": "(?:ok|void)", "action": "warn"},
    ],
    [{"name": "r", "rule": "filter", "filter": "amount < 9.99 AND id <> 3", "action": "quarantine"}],
]


@pytest.mark.parametrize("rules", PARITY, ids=["every-rule", "filters", "filter-quarantine"])
def test_the_same_batch_through_both_paths(spark, tmp_path, rules):
    same(*both(spark, tmp_path, rules))


def test_parity_over_typed_columns_nulls_and_unicode(spark, tmp_path):
    data = (
        "id,score,seen,flag,name,big\n"
        "1,1.5,2024-01-15 10:30:00,true,Zoë,9000000000\n"
        "2,,2024-01-15T10:30:00.5Z,false,\"a, b\",-1\n"
        "3,0.000123,,TRUE,,12345678901\n"
        "4,12345678.9,2023-12-31 23:59:59.123456,,zoe,0\n"
        "5,1e21,2024-06-01 00:00:00,false,ÉCLAIR,7\n"
    ).encode()
    rules = [
        {"name": "score_set", "rule": "filter", "filter": "score >= 0.0001 AND score < 1000000000000000000000000000000", "action": "quarantine"},
        {"name": "recent", "rule": "filter", "filter": "seen > '2024-01-01' OR seen IS NULL", "action": "quarantine"},
        {"name": "flagged", "rule": "filter", "filter": "flag", "action": "warn"},
        {"name": "named", "rule": "filter", "filter": "name >= 'Z' AND name NOT LIKE '%e'", "action": "warn"},
        {"name": "big_id", "rule": "filter", "filter": "big > 2147483647 OR big = -1", "action": "warn"},
        {"name": "score_text", "rule": "matches", "column": "score", "pattern": "[0-9.]+", "action": "quarantine"},
        {"name": "seen_text", "rule": "matches", "column": "seen", "pattern": "2024-.*", "action": "warn"},
        {"name": "flag_text", "rule": "matches", "column": "flag", "pattern": "t.*", "action": "warn"},
    ]
    s, a = both(spark, tmp_path, rules, data)
    same(s, a)
    assert a[2].quarantined >= 2  # 1e21's text is 1.0E21 (no match), row 3 has no seen


def test_a_parquet_files_rows_are_named_by_their_place_on_both_paths(spark, tmp_path):
    import io

    import pyarrow.parquet as pq

    b = io.BytesIO()
    pq.write_table(pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()), "score": [1.5, -2.0, None, 1e21],
        "day": pa.array([dt.date(2024, 1, 1), None, dt.date(2024, 3, 1), dt.date(2023, 5, 5)]),
        "region": ["EU", "MARS", None, "US"],
    }), b, row_group_size=2)
    rules = [
        {"name": "known", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"},
        {"name": "positive", "rule": "filter", "filter": "score > 0 AND day >= '2024-01-01'", "action": "quarantine"},
    ]
    s, a = both(spark, tmp_path, rules, b.getvalue(), "orders.parquet")
    same(s, a)
    assert [(q["id"], q["_line"], q["day"], q["score"]) for q in a[1]] == [("2", 2, None, "-2.0"), ("3", 3, "2024-03-01", None), ("4", 4, "2023-05-05", "1.0E21")]


def typed(spark, rows, schema):
    """A Spark DataFrame and an Arrow table of the same rows; their type names as the Arrow reader names them."""
    from pyspark.sql.types import _parse_datatype_string

    # Each row's place (a column the rules don't see, as POSITION on the Spark path): a window
    # (unique) returns the rows in another order.
    df = spark.createDataFrame([(*r, i) for i, r in enumerate(rows)], schema + ", __lf_i int")
    st = _parse_datatype_string(schema)
    arrow_types = {"int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(), "boolean": pa.bool_(), "string": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"), "date": pa.date32()}
    names = [f.name for f in st.fields]
    kinds = {f.name: f.dataType.simpleString() for f in st.fields}
    table = pa.table({n: pa.array([r[i] for r in rows], arrow_types[kinds[n]]) for i, n in enumerate(names)})
    return df, table, kinds


def spark_broken(spark, e, df):
    return [r[0] for r in df.select(spark_expect.broken(e, df).alias("b"), "__lf_i").orderBy("__lf_i").collect()]


def arrow_broken(e, table, kinds):
    return expect.broken(e, table, expect.Batch(table, kinds, quarantine.JavaText(None))).to_pylist()


@pytest.mark.parametrize("rule", [
    {"rule": "unique"}, {"rule": "in", "values": ["0", "1"]}, {"rule": "in", "values": ["-0.0"]}, {"rule": "range", "min": "0"},
    {"rule": "range", "max": "0.5"}, {"rule": "range", "min": "-1", "max": "1"}, {"rule": "not_null"}, {"rule": "matches", "pattern": "-?[0-9]+\\.0"},
])
def test_a_double_columns_zeros_and_nans_answer_as_spark_does(spark, rule):
    rows = [(0.0,), (-0.0,), (float("nan"),), (float("nan"),), (1.0,), (None,), (2.5,), (-0.0,)]
    df, table, kinds = typed(spark, rows, "x double")
    (e,) = parse_all([{"name": "r", "column": "x", "action": "warn", **rule}])
    got = expect.broken(e, table, expect.Batch(table, kinds, quarantine.JavaText(spark))).to_pylist()
    assert got == spark_broken(spark, e, df)


FILTERS = [
    "i < 2.5", "i <= 2.5", "i > 2.5", "i >= -2.5", "i = 2.5", "i <> 2.5", "i = 2", "i < 99999999999999999999", "i > -99999999999999999999", "i >= 9223372036854775807.5", "b <= -9223372036854775808.5",
    "i = 99999999999999999999", "i <> 99999999999999999999", "b < 9223372036854775807", "i > 2147483648", "i < 2.0", "i >= 2.0", "-2.5 < i", "i BETWEEN 0.5 AND 99999999999999999999",
    "b >= 9000000000", "b = 12345678901", "d < 0.1", "d = 0.3", "d > 100", "d BETWEEN -1 AND 2.5", "2 < i", "0.1 > d",
    "s = 'é'", "s > 'Z'", "s < 'a'", "s LIKE 'a%'", "s LIKE '_'", "s LIKE '%\\%'", "s LIKE 'a_c'", "s NOT LIKE '%b%'", "s LIKE 'x\nz'",
    "s IN ('abc', NULL)", "s NOT IN ('abc', NULL)", "i IN (1, 2.5, 3)", "i NOT IN (1, 3)", "s IN (s, 'x')", "'abc' IN (s)",
    "f", "NOT f", "f = TRUE", "f <> FALSE", "f IS NULL", "s IS NOT NULL", "NULL IS NULL", "'a' IS NULL", "1 = 1", "'a' < 'b'",
    "i = NULL", "NOT (i = NULL)", "i > 1 AND s IS NULL", "i > 1 OR s IS NULL", "(i > 1 OR f) AND NOT s = 'abc'",
    "t > '2024-01-15T10:30:00'", "t >= '2024-01-15T10:30:00Z'", "t BETWEEN '2024-01-01' AND '2024-01-31 23:59'", "dt = '2024-01-15'", "dt < '2024-02-01'",
    "'2024-01-20' BETWEEN dt AND '2024-02-01'", "i < d", "b > i", "i = b",
]


@pytest.mark.parametrize("text", FILTERS)
def test_a_filter_answers_as_spark_does(spark, text):
    rows = [
        (1, 9000000000, 0.1, True, "abc", dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.timezone.utc), dt.date(2024, 1, 15)),
        (2, -5, 0.30000000000000004, False, "é", dt.datetime(2024, 1, 15, 10, 30, 0, 1, tzinfo=dt.timezone.utc), dt.date(2024, 2, 1)),
        (3, 12345678901, 250.0, None, "a\\", None, None),
        (-3, None, None, True, "x\nz", dt.datetime(2023, 12, 31, tzinfo=dt.timezone.utc), dt.date(1999, 1, 1)),
        (None, 1, -0.0, False, None, dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc), dt.date(2024, 1, 20)),
        (0, 2, 1e-9, True, "Z", None, dt.date(2024, 1, 1)),
    ]
    df, table, kinds = typed(spark, rows, "i int, b bigint, d double, f boolean, s string, t timestamp, dt date")
    (e,) = parse_all([{"name": "f", "rule": "filter", "filter": text, "action": "warn"}])
    assert arrow_broken(e, table, kinds) == spark_broken(spark, e, df)


PATTERNS = [
    "abc", "a.c", "a.*", ".*", "", "[a-c]+", "[^a]+", "\\s*x\\s*", "\\S+", "[\\s]x", "\\d{2,3}", "\\w+", "\\W", "\\D+",
    "a|b|", "(a|b)*c", "(?:ab)+?", "x{2}", "x{1,}", "\\.", "\\$", "\\u00e9", "\\x41", "\\x{1F600}", "[\\x41-\\x43]+", "abc$", "^abc",
    "[a-]", "[-a]+", "\\t", ".", "..", "é.", "(?<g>a)b", "[.]", "\\\\",
]
VALUES = ["abc", "abc\n", "abc\r\n", "abc\r", "abc\u2028", "abc\u0085", "abc\n\n", "a\nc", "a\rc", "a\u0085c", "ac", "x", " x ", "\x0bx", "\x0b", "\t", "12", "1234",
          "A", "B", "ABC", "aab", "aabc", "c", "ababab", "xx", "xxx", "é", "éa", "\U0001F600", "$", ".", "\\", "", "ab", "a-", "-a", None, "_"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_pattern_matches_as_javas_rlike_does(spark, pattern):
    from pyspark.sql import functions as F

    assert regex.refusal(pattern) is None, regex.refusal(pattern)
    df = spark.createDataFrame([(v,) for v in VALUES], "v string")
    want = [r[0] for r in df.select(F.col("v").rlike(f"^(?:{pattern})$")).collect()]
    got = regex.matches(pa.array(VALUES, pa.string()), pattern).to_pylist()
    assert got == want


@pytest.mark.parametrize("pattern,why", [
    ("a*+", "possessive"), ("(?>a)b", "special group"), ("\\Qa.b\\E", "\\Q"), ("\\p{Lower}+", "\\p"), ("[[:alpha:]]", "'['"),
    ("[a-z&&[^b]]", "intersection"), ("(?i)abc", "inline flag"), ("\\bx\\b", "word boundary"), ("\\v", "vertical"), ("a$b", "'$'"),
    ("\\h", "escape"), ("\\0101", "octal"), ("\\cA", "control"), ("a{1001}", "over 1000"), ("a{,3}", "no repetition"), ("[]a]", "']'"), ("\\R", "escape"),
])
def test_a_pattern_only_java_reads_alike_goes_to_spark(pattern, why):
    from lakeform_jobs.expectations import Expectation

    # (Some of these the job server's own check refuses before: Python's parser doesn't take them.)
    got = expect.refusal((Expectation(name="p", rule="matches", action="warn", column="x", pattern=pattern),))
    assert got is not None and why in got and "Spark path" in got


def test_what_the_arrow_path_hands_to_spark():
    assert expect.refusal(parse_all([{"name": "a", "rule": "not_null", "column": "x", "action": "drop"}])) is None
    assert expect.refusal(parse_all([{"name": "a", "rule": "matches", "column": "x", "pattern": "[0-9]+"}])) is None
    assert expect.refusal(parse_all([{"name": "a", "rule": "filter", "filter": "x > 1"}])) is None
    assert expect.refusal(parse_all([{"name": "a", "rule": "not_null", "column": "x", "action": "quarantine"}])) is None


def test_a_filter_over_a_column_whose_comparisons_are_sparks_declines(spark):
    (e,) = parse_all([{"name": "f", "rule": "filter", "filter": "x > 1", "action": "warn"}])
    t = pa.table({"x": pa.array([1.5, float("nan")])})
    with pytest.raises(Decline, match="NaN"):
        expect.broken(e, t, expect.Batch(t, {"x": "double"}, quarantine.JavaText(None)))
    for values, name in ((pa.array([1.0, 2.0], pa.float32()), "float"), (pa.array([Decimal("1"), Decimal("2")], pa.decimal128(10, 2)), "decimal(10,2)")):
        t = pa.table({"x": values})
        with pytest.raises(Decline, match="comparisons"):
            expect.broken(e, t, expect.Batch(t, {"x": name}, quarantine.JavaText(None)))
    # IS NULL applies to any column, as on the Spark path.
    (e,) = parse_all([{"name": "f", "rule": "filter", "filter": "x IS NOT NULL", "action": "warn"}])
    assert expect.broken(e, t, expect.Batch(t, {"x": "decimal(10,2)"}, quarantine.JavaText(None))).to_pylist() == [False, False]


def test_a_bad_filter_is_named_as_the_spark_path_names_it():
    with pytest.raises(JobFailure, match="expectation bad: filter 'nope > 1': .*not a column"):
        run([{"name": "bad", "rule": "filter", "filter": "nope > 1", "action": "warn"}])
    with pytest.raises(JobFailure, match="column ghost is not in the source"):
        run([{"name": "ghost", "rule": "not_null", "column": "ghost", "action": "warn"}])
    _, out = run([{"name": "quoted", "rule": "filter", "filter": "region = 'EU'' OR ''1''=''1'", "action": "warn"}])
    assert out.failed == {"quoted": 5}


def test_a_value_that_is_no_value_of_the_column_is_refused():
    with pytest.raises(JobFailure, match="expectation r"):
        run([{"name": "r", "rule": "range", "column": "amount", "min": "zero", "action": "warn"}])


# ------------------------------------------------------------------------------ the quarantine table's text


def test_a_values_text_is_sparks_cast(spark):
    doubles = [7.0, -3.0, 10.5, 0.001, 0.0001, 1e7, 12345678.9, 1e21, 2.0 ** -44, 7.28300953342345e16, 5e-324, -0.0, float("nan"), float("inf"), None]
    floats = [struct.unpack("f", struct.pack("f", v))[0] for v in (0.1, 3.4e38, 1e-7, 16777217.0)] + [None]
    stamps = [dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.timezone.utc), dt.datetime(2024, 1, 15, 10, 30, 0, 500000, tzinfo=dt.timezone.utc), dt.datetime(1999, 12, 31, 23, 59, 59, 123, tzinfo=dt.timezone.utc), None]
    dates = [dt.date(2024, 1, 5), dt.date(1, 1, 1), dt.date(9999, 12, 31), None]
    decimals = [Decimal("0E-10"), Decimal("1.00E-8"), Decimal("12.5000000000"), Decimal("-0.0000000001"), None]
    java = quarantine.JavaText(spark)
    for values, spark_type, arrow_type, name in (
        (doubles, "double", pa.float64(), "double"), (floats, "float", pa.float32(), "float"), (stamps, "timestamp", pa.timestamp("us", tz="UTC"), "timestamp"),
        (dates, "date", pa.date32(), "date"), (decimals, "decimal(20,10)", pa.decimal128(20, 10), "decimal(20,10)"),
        ([1, -2, None], "int", pa.int32(), "int"), ([2 ** 40, None], "bigint", pa.int64(), "bigint"), ([True, False, None], "boolean", pa.bool_(), "boolean"),
        (["é", "", None], "string", pa.string(), "string"),
    ):
        want = [r[0] for r in spark.createDataFrame([(v,) for v in values], f"x {spark_type}").selectExpr("cast(x as string)").collect()]
        got = quarantine.texts(pa.chunked_array([pa.array(values, arrow_type)]), name, java).to_pylist()
        assert got == want, name
    with pytest.raises(Decline, match="JVM"):
        quarantine.texts(pa.chunked_array([pa.array([1.5])]), "double", quarantine.JavaText(None))


def test_lines_are_the_files_lines_in_one_pass():
    r = read_source(b"id,v\n1,a\n\n2,\"x\ny\"\n3,c\n", {})
    assert quarantine.lines(r, [0, 1, 2]) == [r.line_of(0), r.line_of(1), r.line_of(2)] == [2, 4, 6]


# ------------------------------------------------------------------------------ the write


class FakeWriter:
    """IcebergWriter's load and write, recorded: what the Arrow path commits, in order."""

    def __init__(self, tables=None, data=CSV, log=None):
        self.tables = tables or {}
        self.data = data
        self.log = log if log is not None else []

    def read_bytes(self, uri):
        return self.data

    def load(self, t):
        cols = self.tables.get(t.name)
        if cols is None:
            return None
        from pyiceberg.schema import Schema
        from pyiceberg.types import LongType, NestedField, StringType

        return SimpleNamespace(schema=lambda: Schema(*[NestedField(i + 1, c, LongType() if c == "_line" else StringType(), required=False) for i, c in enumerate(cols)]))

    def write(self, t, rows, plan, exists, before_commit):
        from lakeform_jobs.arrow.iceberg import Outcome

        before_commit()
        self.log.append(("commit", t.name, rows, plan, exists))
        return Outcome(commit=str(len(self.log)), counts={"rows_inserted": len(rows), "rows_updated": 0, "rows_deleted": 0}, bulk=True, rewritten_files=0, attempts=1)


def arrow_write(spark, rules, writer, bad_rows="refuse"):
    from lakeform_jobs.arrow import path as arrow_path
    from lakeform_jobs.formats.iceberg import Iceberg
    from lakeform_jobs.requests import WriteRequest
    from lakeform_jobs.types import Source, Table

    t = Table(name="orders", database="default", format="iceberg", location="s3a://w/default/orders", primary_key=["id"], expect=parse_all(rules))
    req = WriteRequest(t, Source.parse({"uri": "s3a://w/l/ab/orders.csv", "hash": HASH, "name": "orders.csv"}), "7", bad_rows=bad_rows)
    p = arrow_path.ArrowPath.__new__(arrow_path.ArrowPath)
    p.writer, p.max_bytes = writer, 1 << 20
    progress = SimpleNamespace(p=SimpleNamespace(path=None, bytes_total=0), stage=lambda *a: None, rows=lambda *a: None, profile=lambda: {})
    guard = SimpleNamespace(check=lambda: writer.log.append(("lease",)), lost=False)
    writes = SimpleNamespace(spark=spark, _before_new_table=lambda t: None, journal=SimpleNamespace(append=lambda *a, **k: writer.log.append(("journal",))))
    fmt = Iceberg.__new__(Iceberg)
    return p.write(writes, req, fmt, False, progress, guard, 0.0)


def test_the_write_quarantines_before_the_tables_commit_lease_first(spark):
    rules = [
        {"name": "known", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"},
        {"name": "live", "rule": "filter", "filter": "status <> 'void' OR id > 3", "action": "quarantine"},
        {"name": "zip5", "rule": "matches", "column": "zip", "pattern": "[0-9]{5}", "action": "drop"},
    ]
    w = FakeWriter()
    res = arrow_write(spark, rules, w)
    steps = [s[0] if s[0] != "commit" else s[1] for s in w.log]
    # The lease before the quarantine table's write, and again right before each commit.
    assert steps == ["lease", "lease", "orders__quarantine", "lease", "orders", "journal"]
    _, qname, qrows, qplan, qexists = w.log[2]
    assert qexists is False and qplan.keys == ["_qkey"] and qplan.location == "s3a://w/default/orders__quarantine"
    assert qplan.meta["lakeform.source_hash"] == spark_expect.hashlib.sha256((HASH + ":q").encode()).hexdigest()
    assert qplan.meta["lakeform.source"] == "orders.csv" and qplan.meta["lakeform.generation"] == "7" and qplan.meta["lakeform.path"] == "arrow"
    assert qplan.properties["write.merge.mode"] == "merge-on-read"
    assert [(r["id"], r["_rule"], r["_line"]) for r in qrows.to_pylist()] == [("3", "known", 4)]
    _, _, rows, plan, _ = w.log[4]
    assert sorted(rows.column("id").to_pylist()) == [1, 4, 5]
    assert plan.meta["lakeform.path"] == "arrow" and plan.meta["lakeform.source_hash"] == HASH
    assert plan.meta["lakeform.expectations"] == '{"known":{"action":"quarantine","failed":1},"live":{"action":"quarantine","failed":1},"zip5":{"action":"drop","failed":1}}'
    assert [x["failed"] for x in res.expectations] == [1, 1, 1] and res.rows_written == 3


def test_an_existing_quarantine_table_gets_new_columns_and_nulls_for_those_the_batch_lacks(spark):
    w = FakeWriter(tables={"orders__quarantine": ["_qkey", "id", "old", "_rule", "_reason", "_source", "_line"]})
    arrow_write(spark, [{"name": "known", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"}], w)
    _, _, qrows, qplan, qexists = next(s for s in w.log if s[0] == "commit" and s[1] == "orders__quarantine")
    assert qexists is True and qplan.new_cols == ["amount", "region", "zip", "status"]
    assert qrows.column("old").to_pylist() == [None] and qrows.schema.field("old").type == pa.string()


def test_a_fail_rule_writes_nothing_and_a_filter_it_cant_build_declines_before_any_write(spark):
    w = FakeWriter()
    with pytest.raises(JobFailure, match="EXPECTATION_FAILED|expectation small"):
        arrow_write(spark, [{"name": "known", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"}, {"name": "small", "rule": "range", "column": "id", "max": "2", "action": "fail"}], w)
    assert not [s for s in w.log if s[0] == "commit"]
    # A double's text needs the JVM's Double.toString: without one, the Spark path writes it.
    w = FakeWriter()
    with pytest.raises(Decline, match="JVM"):
        arrow_write(None, [{"name": "known", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"}], w)
    assert not [s for s in w.log if s[0] == "commit"]
