"""Run a command and write its peak RSS (KiB) to a file: `peak_rss.py FILE CMD...`.

Linux gives a child the high-water RSS of the process it was forked from (kept across
exec), so measured straight from the benchmark runner, which holds 30 MiB inputs and
more, every figure would read as the runner's own. This small process stands between
them: its child inherits only its few MB. Exits with the command's exit code.
"""

import os
import sys

out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as file:
    file.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
