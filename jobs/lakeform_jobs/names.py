"""Column-name sanitising, the same rule as lake/columns.ts (both are checked against
tests/fixtures/column-names.json): "First Name" -> first_name, "2024 Sales" -> _2024_sales."""

import re


def sanitize_column(raw: str) -> str:
    s = re.sub(r"[^a-z0-9_]+", "_", raw.strip().lower())
    s = re.sub(r"_+", "_", s).strip("_")
    if s == "":
        s = "col"
    if s[0].isdigit():
        s = "_" + s
    return s
