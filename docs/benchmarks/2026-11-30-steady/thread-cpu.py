#!/usr/bin/env python3
"""CPU by thread name, summed over processes, over a window: thread-cpu.py SECONDS PID...

Reads utime and stime of every thread from /proc/PID/task/TID/stat at the start and the end of
the window and prints each thread name's share of one core (names without their trailing
numbers, so the 9 servers' "raft-node-N" threads add up under "raft-node").
"""
import collections
import os
import re
import sys
import time


def snapshot(pids):
    threads = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                stat = open(f"/proc/{pid}/task/{tid}/stat").read()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            threads[(pid, tid)] = (re.sub(r"[-#]?\d+$", "", name), int(fields[11]), int(fields[12]))
    return threads


def main():
    window, pids = float(sys.argv[1]), sys.argv[2:]
    before = snapshot(pids)
    time.sleep(window)
    after = snapshot(pids)
    if not after:
        sys.exit("thread-cpu: none of the processes is alive at the end of the window")
    hz = os.sysconf("SC_CLK_TCK")
    user, system = collections.Counter(), collections.Counter()
    for key, (name, u, s) in after.items():
        _, u0, s0 = before.get(key, (name, 0, 0))
        user[name] += u - u0
        system[name] += s - s0

    def pct(ticks):
        return 100.0 * ticks / hz / window

    print(f"all {len(pids)} processes: user {pct(sum(user.values())):.1f}% "
          f"sys {pct(sum(system.values())):.1f}% of a core")
    for name in sorted(user, key=lambda n: -(user[n] + system[n]))[:14]:
        if user[name] + system[name]:
            print(f"  {name:24s} user {pct(user[name]):6.1f}%  sys {pct(system[name]):6.1f}%")


if __name__ == "__main__":
    main()
