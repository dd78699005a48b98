#!/usr/bin/env python3
"""Run a FUSE daemon as an unprivileged user, for 28-store-failures.bats.

  28-store-failures-as-user.py UID GID CLIENT_UID CLIENT_GID DAEMON ARG... MOUNTPOINT

Run as root.  Mounts a FUSE file system at MOUNTPOINT with mount(2) on a
fresh /dev/fuse descriptor N (type fuse.mapifs, source = the argument before
MOUNTPOINT, options fd=N,rootmode=...,user_id=CLIENT_UID,group_id=CLIENT_GID),
then drops to UID:GID (no supplementary groups, no capabilities) and execs
DAEMON ARG... /dev/fd/N: libfuse (fuse_session_mount, 3.x) serves a mount
made by its parent on that descriptor.  So the daemon runs as UID whatever
the modes of /dev/fuse and whether fusermount3 is setuid on this machine;
CLIENT_UID:CLIENT_GID is the user the kernel lets use the mount (without
allow_other, only that one).  The pid stays the same through the exec.
Standard library only.
"""

import ctypes
import ctypes.util
import os
import stat
import sys

MS_NOSUID = 2
MS_NODEV = 4


def main(argv):
    if len(argv) < 8:
        sys.stderr.write(__doc__)
        return 2
    uid, gid, cuid, cgid = (int(a) for a in argv[1:5])
    daemon = argv[5:]
    mnt, src = daemon[-1], daemon[-2]
    fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
    rootmode = stat.S_IFMT(os.stat(mnt).st_mode)
    opts = "fd=%d,rootmode=%o,user_id=%d,group_id=%d" % (fd, rootmode, cuid, cgid)
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.mount(os.fsencode(src), os.fsencode(mnt), b"fuse.mapifs",
                  MS_NOSUID | MS_NODEV, opts.encode()) != 0:
        e = ctypes.get_errno()
        sys.stderr.write("28-store-failures-as-user.py: mount %s: %s\n" % (mnt, os.strerror(e)))
        return 1
    os.set_inheritable(fd, True)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    os.execv(daemon[0], daemon[:-1] + ["/dev/fd/%d" % fd])
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
