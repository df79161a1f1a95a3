"""What the commands that drive long jobs (export_cherma, train_lfmim) say alike."""

from labeling.models.long_jobs import LongJob


def cancel_message(job: LongJob, noun: str, running: str) -> str:
    """The answer to --cancel: cancelled, asked to stop (`running` says how), or nothing to do."""
    if job.status == LongJob.Status.CANCELLED:
        return f"{noun} {job.pk} is cancelled."
    if job.status == LongJob.Status.RUNNING:
        return running
    return f"{noun} {job.pk} is already {job.status}; nothing to cancel."
