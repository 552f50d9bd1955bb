"""Lakeform's Spark job server as a package (jobs/job_server.py is its entry point).

  server.py       HTTP and one-shot mode over one operation table
  operations.py   the operations themselves (write, observe, travel, drop, register, ...)
  types.py        the request and response types of every operation
  csv_source.py   reading a CSV source into a DataFrame
  journal.py      the write journal (one record per successful write)
  catalog.py      the metastore, and the Hadoop file system the tables live on
  formats/        one Format interface, with a Hudi and an Iceberg implementation
  errors.py       the error codes (mirroring lake/errorCodes.json) and classification
  asof.py, names.py  the asOf grammar and column-name sanitising (shared with lake/*.ts)

Everything but operations, catalog, csv_source and formats imports without pyspark, so the
unit tests (jobs/tests) run on a machine without Spark.
"""
