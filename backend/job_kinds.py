"""Every job kind the product runs, in a module that imports only the job handlers' domains:
a standalone worker (``mobile-court worker``) starts without loading the web application
(every domain's routes, the video stack), so a worker restarted after a crash claims jobs
within a second or two instead of after importing ``backend.app``."""

from __future__ import annotations

from backend.jobs.queue import JobRegistry
from backend.settings import Settings


def build_job_registry(settings: Settings) -> JobRegistry:
    """Every job kind the product runs. The server and `mobile-court worker` both use this, so a
    standalone worker never meets a kind it does not know (which it would bury as dead)."""
    from filing.clock import register_jobs as register_filing_jobs
    from hearings import video_jobs
    from hearings.asynchronous import notify as async_hearing_jobs
    from service_of_process import jobs as service_jobs

    registry = JobRegistry()
    register_filing_jobs(registry, settings)
    service_jobs.register_jobs(registry, settings)
    async_hearing_jobs.register_jobs(registry, settings)
    video_jobs.register_jobs(registry, settings)
    return registry
