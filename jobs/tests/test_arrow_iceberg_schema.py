"""A new Iceberg table's schema on the Arrow path (arrow/iceberg.py new_table_schema): its field
ids are the table's, so a partition spec over it sources each field from its own column. Before,
pyiceberg's converted schema had every id -1, and an identity partition was refused."""

import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("pyiceberg")

from pyiceberg.table.metadata import new_table_metadata  # noqa: E402
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER  # noqa: E402

from lakeform_jobs.arrow.iceberg import new_table_schema  # noqa: E402
from lakeform_jobs.partitioning import parse_field, pyiceberg_spec  # noqa: E402


@pytest.mark.parametrize("partition_by", [["region"], ["amount", "region"], ["bucket(4, id)", "region"]])
def test_a_new_tables_partitions_source_their_own_columns(partition_by):
    schema = new_table_schema(pa.schema([("id", pa.int64()), ("region", pa.string()), ("amount", pa.float64())]))
    assert [f.field_id for f in schema.fields] == [1, 2, 3]
    spec = pyiceberg_spec([parse_field(p, "table.partitionBy") for p in partition_by], schema)
    meta = new_table_metadata(schema, spec, UNSORTED_SORT_ORDER, "s3a://w/sales/orders", {})
    sources = [meta.schema().find_column_name(f.source_id) for f in meta.spec().fields]
    assert sources == [parse_field(p, "t").column for p in partition_by]
