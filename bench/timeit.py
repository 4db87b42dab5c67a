#!/usr/bin/env python3
"""timeit.py RUNS CMD...: best wall and CPU time of CMD, in milliseconds.

Runs CMD RUNS times (the caller has warmed the page cache), its output
thrown away, and prints "WALL CPU": the best wall time and the best CPU
time (user plus system, of the child alone, from wait4) over those runs,
each in ms with one decimal.  CPU time is the steadier figure on a shared machine:
another process taking the CPU makes the wall time longer but not it.
Exits with the first run's exit code (the runs that follow are the same
command on the same input).
"""
import os
import sys
import time


def once(argv):
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


def main():
    runs, argv = int(sys.argv[1]), sys.argv[2:]
    best_wall = best_cpu = rc = None
    for _ in range(max(runs, 1)):
        wall, cpu, code = once(argv)
        rc = code if rc is None else rc
        best_wall = wall if best_wall is None else min(best_wall, wall)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    print("%.1f %.1f" % (best_wall * 1000, best_cpu * 1000))
    return rc if 0 <= rc < 256 else 128 - rc


if __name__ == "__main__":
    sys.exit(main())
