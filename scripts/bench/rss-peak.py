#!/usr/bin/env python3
"""rss-peak.py PID OUT: sample VmRSS of PID every 20 ms until SIGTERM (or
until PID is gone), then write the peak in kB to OUT."""
import signal
import sys
import time


def rss_kb(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main(pid, out):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    peak = 0
    while not stop:
        try:
            peak = max(peak, rss_kb(pid))
        except OSError:
            break
        time.sleep(0.02)
    try:
        peak = max(peak, rss_kb(pid))
    except OSError:
        pass
    with open(out, "w") as f:
        f.write("%d\n" % peak)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
