"""How a source is read, for every write path: its format and compression (detect.py: declared in
the request, else from the landed key's extension, with lake/sourceFormat.ts's tables from the
contract), its CSV options, its declared column types (declared.py), and the Spark readers of the
formats that are not CSV (frames.py: Parquet, JSON Lines). CSV itself is csv_source.py's.

readers.py's Readers is what the write path calls: one object with CsvSource's methods that opens
any source and dispatches on what it opened."""

from .declared import DeclaredColumns
from .detect import CsvOptions, ReadOptions, detect

__all__ = ["CsvOptions", "DeclaredColumns", "ReadOptions", "detect"]
