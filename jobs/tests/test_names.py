from conftest import fixture
from lakeform_jobs.csv_source import column_names
from lakeform_jobs.names import sanitize_column


def test_column_names_match_the_shared_vectors():
    vectors = fixture("column-names.json")
    assert len(vectors) > 5
    for raw, want in vectors:
        assert sanitize_column(raw) == want, raw


def test_header_names_are_made_unique_and_renames_reported():
    names, renamed = column_names(["Index", "First Name", "first name", "First-Name", "ok"])
    assert names == ["index", "first_name", "first_name_2", "first_name_3", "ok"]
    assert renamed == {"Index": "index", "First Name": "first_name", "first name": "first_name_2", "First-Name": "first_name_3"}
