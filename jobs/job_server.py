"""Entry point of Lakeform's Spark job server (spark-submit runs this file): the program is the
package beside it, jobs/lakeform_jobs/ (see its server.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lakeform_jobs.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
