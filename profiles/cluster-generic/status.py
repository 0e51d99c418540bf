#!/usr/bin/env python3
"""Print running, success or failed for one SLURM job id (cluster-generic's status command).

Asks sacct first; where there is no accounting database, falls back to scontrol and squeue
(which remember finished jobs for MinJobAge seconds).
"""

import subprocess
import sys

RUNNING = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING",
           "SIGNALING", "STAGE_OUT", "REQUEUE_HOLD", "REQUEUE_FED", "PREEMPTED"}


def query(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def state(job_id: str) -> str:
    out = query(["sacct", "-X", "-n", "-P", "-j", job_id, "-o", "State"])
    if out:
        return out.splitlines()[0].split()[0]
    out = query(["scontrol", "show", "job", job_id])
    for token in out.split():
        if token.startswith("JobState="):
            return token.split("=", 1)[1]
    out = query(["squeue", "-h", "--states=all", "-j", job_id, "-o", "%T"])
    return out.splitlines()[0] if out else "UNKNOWN"


job_state = state(sys.argv[1]).rstrip("+")
if job_state == "COMPLETED":
    print("success")
elif job_state in RUNNING:
    print("running")
else:  # FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, or a job no tool knows of
    print(f"job {sys.argv[1]}: SLURM state {job_state}", file=sys.stderr)
    print("failed")
