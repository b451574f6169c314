"""A standalone job worker running the product's job kinds, for the e-service crash tests.

Run as ``python -m tests.support.service_worker SETTINGS_JSON``: the JSON holds the Settings
fields (database, var dir for the shared keys, gateway URLs, SMTP port, lease). It serves jobs
through :func:`backend.jobs.worker.run_worker_forever` until SIGTERM or SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import sys

from backend.job_kinds import build_job_registry
from backend.jobs.worker import run_worker_forever
from backend.settings import Settings


def main(argv: list[str]) -> None:
    options = json.loads(argv[0])
    lease_s = float(options.pop("lease_s", 2.0))
    settings = Settings(**options)
    asyncio.run(
        run_worker_forever(settings, build_job_registry, lease_s=lease_s, shutdown_timeout_s=5.0)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
