"""The Arrow write path (path.py): Iceberg batches that fit one machine, read by pyarrow and
committed by pyiceberg in the job server's process, beside the Spark path."""

from .path import ArrowPath, available
from .reader import Decline

__all__ = ["ArrowPath", "Decline", "available"]
