#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A FUSE file system that answers, with one socket inode: MOUNTPOINT/php/www.sock
# (mode 0666, root:root). Speaks the kernel's FUSE protocol on /dev/fuse directly (no
# libfuse): INIT, LOOKUP, GETATTR, READLINK, OPENDIR/RELEASEDIR, and ENOSYS for
# everything else (xattrs included: the kernel then stops asking). Prints "mounted" once
# serving. Lets test-hung-mount show that a socket on a file system that may hang gets no
# connect probe, on a file system that does answer.
# A file system may answer any errno, ENOMEM and EAGAIN included, which a walk must not
# take for its own: in MOUNTPOINT/php, the lookup of nomem.sock answers ENOMEM and of
# again.sock EAGAIN, the attributes of getattr-nomem.sock ENOMEM, reading the link
# nomem-link ENOMEM, and the ACL of acl-nomem.sock ENOMEM (it asks for POSIX ACLs, so
# the kernel passes such reads on; every other inode has none: ENODATA).
# With --hang it mounts and then never reads /dev/fuse: the kernel's INIT and every
# request after it wait for an answer that does not come, as a hung NFS server or a stuck
# FUSE daemon leaves every lookup there (until this process dies).
# With --hang-on-usr1 it answers, but lets the kernel keep no attribute or name (each
# stat asks), until SIGUSR1: from then on it answers nothing, as a FUSE daemon that gets
# stuck while its file is in use (bind-mounted elsewhere, say).
import ctypes
import os
import signal
import struct
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
mnt = sys.argv[1]
fd = os.open("/dev/fuse", os.O_RDWR)
opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % fd
hang = sys.argv[2:] == ["--hang"]
hang_on_usr1 = sys.argv[2:] == ["--hang-on-usr1"]
valid = 0 if hang_on_usr1 else 60  # seconds the kernel may keep an answer
stuck = False


def on_usr1(signum, frame):
    global stuck
    stuck = True


signal.signal(signal.SIGUSR1, on_usr1)
name = b"sockfix-hang" if hang else b"sockfix-answer"
if libc.mount(name, mnt.encode(), b"fuse." + name, 0, opts.encode()) != 0:
    print("mount failed:", os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(1)
if hang:
    print("mounted", flush=True)
    while True:
        time.sleep(60)

FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_INIT = 1, 2, 3, 26
FUSE_READLINK, FUSE_GETXATTR, FUSE_OPENDIR, FUSE_RELEASEDIR, FUSE_BATCH_FORGET = 5, 22, 27, 29, 42
FUSE_POSIX_ACL = 1 << 20
S_IFDIR, S_IFSOCK, S_IFLNK = 0o040000, 0o140000, 0o120000
ENOMEM, EAGAIN, ENODATA = 12, 11, 61
# nodeid: (mode, children)
NODES = {
    1: (S_IFDIR | 0o755, {b"php": 2}),
    2: (S_IFDIR | 0o755, {b"www.sock": 3, b"getattr-nomem.sock": 4, b"nomem-link": 5, b"acl-nomem.sock": 6}),
    3: (S_IFSOCK | 0o666, {}),
    4: (S_IFSOCK | 0o666, {}),
    5: (S_IFLNK | 0o777, {}),
    6: (S_IFSOCK | 0o666, {}),
}
LOOKUP_ERRORS = {b"nomem.sock": ENOMEM, b"again.sock": EAGAIN}
GETATTR_ERRORS = {4: ENOMEM}  # (kept by the kernel for no time: each stat asks)
READLINK_ERRORS = {5: ENOMEM}
GETXATTR_ERRORS = {6: ENOMEM}


def attr(nodeid):
    mode = NODES[nodeid][0]
    # ino size blocks atime mtime ctime atimensec mtimensec ctimensec mode nlink uid gid
    # rdev blksize flags
    return struct.pack("<QQQQQQIIIIIIIIII", nodeid, 0, 0, 0, 0, 0, 0, 0, 0, mode, 1, 0, 0, 0, 4096, 0)


def reply(unique, error=0, payload=b""):
    os.write(fd, struct.pack("<IiQ", 16 + len(payload), -error, unique) + payload)


print("mounted", flush=True)
while True:
    try:
        req = os.read(fd, 1 << 17)
    except OSError:
        break  # unmounted
    if stuck:
        print("stuck", flush=True)
        while True:
            time.sleep(60)  # this request, and every one after it, waits
    length, opcode, unique, nodeid = struct.unpack_from("<IIQQ", req)
    body = req[40:length]
    if opcode in (FUSE_FORGET, FUSE_BATCH_FORGET):
        continue  # no reply
    if opcode == FUSE_INIT:
        major, minor, _, offered = struct.unpack_from("<IIII", body)
        # major minor max_readahead flags max_background congestion_threshold max_write
        # time_gran max_pages map_alignment flags2 unused[7]
        flags = offered & FUSE_POSIX_ACL
        reply(unique, 0, struct.pack("<IIIIHHIIHHI7I", 7, 31, 0, flags, 16, 12, 1 << 16, 1, 0, 0, 0, *[0] * 7))
    elif opcode == FUSE_LOOKUP:
        name = body.rstrip(b"\0")
        child = NODES.get(nodeid, (0, {}))[1].get(name)
        if name in LOOKUP_ERRORS:
            reply(unique, LOOKUP_ERRORS[name])
        elif child is None:
            reply(unique, 2)  # ENOENT
        else:
            keep = 0 if child in GETATTR_ERRORS else valid
            # nodeid generation entry_valid attr_valid entry_valid_nsec attr_valid_nsec attr
            reply(unique, 0, struct.pack("<QQQQII", child, 0, keep, keep, 0, 0) + attr(child))
    elif opcode == FUSE_GETATTR:
        if nodeid in GETATTR_ERRORS:
            reply(unique, GETATTR_ERRORS[nodeid])
        else:
            reply(unique, 0, struct.pack("<QII", valid, 0, 0) + attr(nodeid))
    elif opcode == FUSE_GETXATTR:
        reply(unique, GETXATTR_ERRORS.get(nodeid, ENODATA))
    elif opcode == FUSE_READLINK:
        reply(unique, READLINK_ERRORS.get(nodeid, 22))  # EINVAL: no other link
    elif opcode == FUSE_OPENDIR:
        reply(unique, 0, struct.pack("<QII", 0, 0, 0))
    elif opcode == FUSE_RELEASEDIR:
        reply(unique)
    else:
        reply(unique, 38)  # ENOSYS
