"""CPU used by a process holding one idle connection. Usage: idle_cpu.py URL [SECONDS]"""

import os
import sys
import time

import wsclient


def ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
ws = wsclient.connect(url)  # default options: heartbeat every 30 s
time.sleep(0.5)
t0 = ticks(os.getpid())
time.sleep(seconds)
used = ticks(os.getpid()) - t0
print(f"idle connection: {used} ticks ({used * 1000 // os.sysconf('SC_CLK_TCK')} ms CPU) over {seconds:g} s")
ws.close()
