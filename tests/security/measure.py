"""Running a command under an address-space cap and reading its peak resident memory afterwards."""

from __future__ import annotations

PEAK_LIMIT_KB = 300 * 1024  # issue 14: no upload or import may take more than 300 MB to refuse
ADDRESS_SPACE_CAP = 3 << 30  # a safety net: a regression dies here rather than exhausting the machine
DEADLINE_S = 120  # a command that has not finished by then is hanging (a FIFO read): that is the failure

MEASURED = """
import resource, subprocess, sys
cap = int(sys.argv[1])
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
done = subprocess.run(sys.argv[3:], preexec_fn=limit)
with open(sys.argv[2], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(done.returncode)
"""
