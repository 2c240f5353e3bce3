#!/usr/bin/env bash
# A one-node SLURM cluster on this machine for the executor tests (tests/test_executors.py):
# Debian's slurm-wlm + munge, no cgroups (proctrack/linuxproc, task/none), no accounting database, so a
# small `sacct` stand-in built on `scontrol` answers submitit's job-state polls. Needs root. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v slurmctld >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null
fi
host=$(hostname -s)
node=$(slurmd -C | head -1)  # NodeName=<host> CPUs=.. Boards=.. ... RealMemory=..
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=mbench
SlurmctldHost=${host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
KillWait=2
MinJobAge=3600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
${node% UpTime=*} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
# submitit polls `sacct`; without an accounting database answer from `scontrol show job`
cat > /usr/local/bin/sacct <<'PY'
#!/usr/bin/env python3
"""sacct stand-in for a SLURM without accounting: `sacct -o JobID,State,NodeList --parsable2 -j ID[,ID]`."""
import subprocess, sys
args = sys.argv[1:]
ids = args[args.index("-j") + 1].split(",") if "-j" in args else []
print("JobID|State|NodeList")
for job in ids:
    out = subprocess.run(["scontrol", "-o", "show", "job", job.split("_")[0]], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        task = f.get("ArrayTaskId")
        jid = f"{f['ArrayJobId']}_{task if task.isdigit() else '[' + task + ']'}" if task else f.get("JobId")
        print(f"{jid}|{f.get('JobState', 'UNKNOWN')}|{f.get('NodeList', '')}")
PY
chmod +x /usr/local/bin/sacct
pgrep -x munged >/dev/null || { chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true; \
  runuser -u munge -- /usr/sbin/munged; }
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for _ in $(seq 30); do
  sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
  scontrol update NodeName="${host}" State=RESUME >/dev/null 2>&1 || true
  sleep 1
done
sinfo
