"""``python -m eval.bench ...``: the same as ``committee-qa bench ...``."""

import sys

from eval.cli import bench_main

sys.exit(bench_main())
