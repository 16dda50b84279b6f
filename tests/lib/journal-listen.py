#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Stands in for journald where none runs (no systemd as PID 1 here): binds SOCKET, the
# path sd_journal_send() writes to (/run/systemd/journal/socket), and appends each entry
# it receives to OUT as one JSON object per line, decoded from journald's native
# protocol: "KEY=value\n", or "KEY\n" + 64-bit little-endian length + bytes + "\n" for
# a value with newlines; an entry too large for a datagram arrives as a memfd. Prints
# "listening" once bound.
import array
import json
import os
import socket
import struct
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("listening", flush=True)


def decode(data):
    entry, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        entry[k.decode()] = v.decode(errors="replace")
    return entry


while True:
    fds = array.array("i")
    data, anc, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(4 * fds.itemsize))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    for fd in fds:
        # (sd_journal_send() leaves the memfd's offset at its end)
        data = os.pread(fd, os.fstat(fd).st_size, 0)
        os.close(fd)
    with open(out, "a") as f:
        f.write(json.dumps(decode(data)) + "\n")
