"""A real one-node SLURM (slurmctld + slurmd + munge) for the profile tests, all state in a temp dir.

Debian's slurm-wlm and munge must be installed (.ci/run installs them). Everything runs as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

SLURM_CONF = """\
# {marker} {root}
ClusterName=rnnbench
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
MinJobAge=86400
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=localhost CPUs={cpus} RealMemory=16000 State=UNKNOWN
PartitionName={partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""

DAEMONS = ("slurmctld", "slurmd", "munged")


def available() -> bool:
    return all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "sinfo"))


# srun inside a batch job reads the default path, not $SLURM_CONF: the config must live there.
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "written by rnnbench's tests for the cluster in"
BACKUP = "slurm.conf.before"  # in the cluster's folder: the config it replaced


def remove_stale_conf(conf: Path = DEFAULT_CONF) -> bool:
    """Remove a slurm.conf that a killed test session left behind (its controller no longer runs),
    putting back the one it replaced. While it stays, every Snakemake start waits on it: the SLURM
    plugin asks `scontrol show config`."""
    if not conf.is_file():
        return False
    first = conf.read_text().partition("\n")[0]
    if not first.startswith(f"# {MARKER} "):
        return False
    root = Path(first.removeprefix(f"# {MARKER} "))
    try:
        running = Path(f"/proc/{int((root / 'slurmctld.pid').read_text())}/comm").read_text().strip() == "slurmctld"
    except (OSError, ValueError):
        running = False
    if not running:
        put_back(conf, root / BACKUP)
    return not running


def put_back(conf: Path, backup: Path) -> None:
    """Put back the slurm.conf a test cluster replaced, or remove the cluster's own."""
    if backup.exists():
        shutil.copy2(backup, conf)
    else:
        conf.unlink(missing_ok=True)


class SlurmCluster:
    def __init__(self, root: Path, cpus: int = 2, partition: str = "rnnbench"):
        self.root = root
        self.partition = partition
        self.conf = DEFAULT_CONF
        self.backup = root / BACKUP
        self.pids: dict[str, int] = {}
        for sub in ("state", "spool"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.text = SLURM_CONF.format(
            marker=MARKER, root=root, cpus=cpus, partition=partition, ctld_port=16817, d_port=16818
        )
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    def start(self, timeout: float = 60) -> None:
        self.conf.parent.mkdir(parents=True, exist_ok=True)
        if self.conf.exists():
            shutil.copy2(self.conf, self.backup)
        self.conf.write_text(self.text)
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        if not Path("/etc/munge/munge.key").exists():
            subprocess.run(["mungekey", "--create"], check=True)
        munge_pid = self.root / "munged.pid"
        subprocess.run(["munged", "--force", f"--pid-file={munge_pid}"], check=True)
        self.pids["munged"] = int(munge_pid.read_text())
        subprocess.run(["slurmctld", "-f", str(self.conf)], check=True, env=self.env)
        subprocess.run(["slurmd", "-f", str(self.conf), "-N", "localhost"], check=True, env=self.env)
        for name in ("slurmctld", "slurmd"):
            pid_file = self.root / f"{name}.pid"
            deadline = time.time() + 10
            while not pid_file.exists() and time.time() < deadline:
                time.sleep(0.2)
            self.pids[name] = int(pid_file.read_text())
        deadline = time.time() + timeout
        state = ""
        while time.time() < deadline:
            state = self.sinfo()
            if state == "idle":
                return
            time.sleep(1)
        raise RuntimeError(f"SLURM node not idle after {timeout}s (state {state!r}); see {self.root}/*.log")

    def sinfo(self) -> str:
        result = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, env=self.env)
        return result.stdout.strip()

    def stop(self) -> None:
        """Stop the daemons this cluster started, by pid, and put back any slurm.conf it replaced."""
        self._stop_daemons()
        if self.backup.exists() or (self.conf.exists() and self.conf.read_text() == self.text):
            put_back(self.conf, self.backup)

    def _stop_daemons(self) -> None:
        for name in DAEMONS:
            pid = self.pids.pop(name, None)
            if pid is None:
                continue
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                continue
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
