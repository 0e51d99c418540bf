#!/usr/bin/env python3
"""Submit one Snakemake job script with sbatch and print the job id (cluster-generic's submit command).

PBS: replace the sbatch call with qsub (-l ncpus=..,mem=..mb,walltime=..), LSF with bsub.
"""

import argparse
import os
import subprocess
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--name", required=True)
parser.add_argument("--cpus", type=int, required=True)
parser.add_argument("--mem-mb", type=int, required=True)
parser.add_argument("--runtime", type=int, required=True, help="minutes")
parser.add_argument("--partition", default="")
parser.add_argument("--account", default="")
parser.add_argument("--logdir", default="logs/cluster")
parser.add_argument("jobscript")
args = parser.parse_args()

os.makedirs(args.logdir, exist_ok=True)
command = [
    "sbatch", "--parsable", f"--job-name={args.name}", f"--cpus-per-task={args.cpus}",
    f"--mem={args.mem_mb}M", f"--time={args.runtime}", f"--output={args.logdir}/{args.name}-%j.out",
]
command += [f"--partition={args.partition}"] if args.partition else []
command += [f"--account={args.account}"] if args.account else []
result = subprocess.run(command + [args.jobscript], capture_output=True, text=True)
if result.returncode != 0:
    sys.exit(f"sbatch failed ({result.returncode}): {result.stderr.strip()}")
print(result.stdout.strip().split(";")[0])
