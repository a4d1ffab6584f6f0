#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads QEMU's serial console on stdin: keeps it in a log file, shows
progress, and carries out the guest's requests to the host.

A guest test asks the host for something only the host can do (unplug a
device, resize a disk, take a link down) by printing one line:

    RVIRTIO-HOST {"execute": "set_link", "arguments": {"name": "nic0", "up": false}}

The JSON is sent as is to QEMU's QMP socket; the reply goes to the log. The
guest then waits for the effect it expects.

    console-agent.py --log FILE [--qmp SOCKET] [--progress]
"""

import argparse
import json
import socket
import sys
import time

REQUEST = "RVIRTIO-HOST "
PROGRESS = ("rvirtio: ", "RVIRTIO-KTAP-BEGIN", "not ok")


class Qmp:
    def __init__(self, path):
        self.path = path
        self.sock = None
        self.buf = b""

    def _connect(self):
        for _ in range(50):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.path)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise OSError(f"cannot connect to QMP at {self.path}")
        s.settimeout(30)
        self.sock = s
        self._read()  # greeting
        self.command({"execute": "qmp_capabilities"})

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise OSError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, cmd):
        if self.sock is None:
            self._connect()
        self.sock.sendall(json.dumps(cmd).encode() + b"\n")
        while True:
            msg = self._read()
            if "return" in msg or "error" in msg:
                return msg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--qmp")
    ap.add_argument("--progress", action="store_true", help="show only progress lines")
    args = ap.parse_args()

    qmp = Qmp(args.qmp) if args.qmp else None
    with open(args.log, "w", errors="replace") as log:
        for raw in sys.stdin.buffer:
            line = raw.decode(errors="replace")
            log.write(line)
            log.flush()
            if not args.progress:
                sys.stdout.write(line)
                sys.stdout.flush()
            elif any(p in line for p in PROGRESS):
                sys.stderr.write("    guest| " + line)
            i = line.find(REQUEST)
            if i >= 0 and qmp is not None:
                try:
                    reply = qmp.command(json.loads(line[i + len(REQUEST) :]))
                except (OSError, ValueError) as e:
                    reply = {"error": str(e)}
                log.write(f"rvirtio-host: {json.dumps(reply)}\n")
                log.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
