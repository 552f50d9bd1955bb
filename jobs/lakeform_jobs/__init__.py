"""Lakeform's Spark job server as a package (jobs/job_server.py is its entry point).

  server.py       HTTP and one-shot mode over one operation table
  operations.py   the operations themselves (write, observe, travel, drop, register, ...)
  write.py        a write's steps (a CSV source, a change document); write_plan.py its pure plan
  types.py        the table and the source, with their fields' rules and the spec's constants
  requests.py     every operation's request (and the warehouse its table must be in)
  replies.py      every operation's reply
  filter.py       row filters as checked trees, as Spark Columns; filter_text.py their text form
  csv_source.py   reading a CSV source into a DataFrame
  journal.py      the write journal (one record per successful write)
  catalog.py      the metastore, and the Hadoop file system the tables live on
  formats/        one Format interface, with a Hudi and an Iceberg implementation
  errors.py       the error codes (mirroring lake/errorCodes.json) and classification
  asof.py, names.py  the asOf grammar and column-name sanitising (shared with lake/*.ts)

Everything but operations, write, catalog, csv_source and formats imports without pyspark, so the
unit tests (jobs/tests) run on a machine without Spark.
"""
