#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads QEMU's serial console on stdin: keeps it in a log file, shows
progress, and carries out the guest's requests to the host.

A guest test asks the host for something only the host can do (unplug a
device, resize a disk, take a link down) by printing one line:

    RVIRTIO-HOST {"execute": "set_link", "arguments": {"name": "nic0", "up": false}}

The JSON is sent as is to QEMU's QMP socket; the reply goes to the log. The
guest then waits for the effect it expects.

A guest test that needs a device the host serves (qemu-scripts/vdev, rvdev)
asks for one to be plugged in:

    RVIRTIO-VDEV {"id": "vd1", "kind": "blk", "bus": "rp9", "args": ["--lie", "partial-read"]}
    RVIRTIO-VDEV {"id": "vn1", "kind": "net", "bus": "rp9", "mac": "52:54:00:77:00:02"}

The agent starts `rvdev KIND --socket S ARGS...`, waits for its socket, and
hot-plugs a vhost-user device on it, on the PCIe root port BUS: chardev-add,
then device_add of vhost-user-blk-pci with one queue (blk), or netdev_add of
a vhost-user netdev and device_add of virtio-net-pci with MAC on it (net).
The guest unplugs it with an RVIRTIO-HOST device_del. Every rvdev is killed when the
console ends.

    console-agent.py --log FILE [--qmp SOCKET] [--rvdev BINARY] [--progress]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

REQUEST = "RVIRTIO-HOST "
VDEV = "RVIRTIO-VDEV "
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


class Vdevs:
    """The rvdev processes started for the guest, and their sockets."""

    def __init__(self, binary, qmp):
        self.binary = binary
        self.qmp = qmp
        self.dir = tempfile.mkdtemp(prefix="rvirtio-vdev.")
        self.procs = []

    def plug(self, req, log):
        vid, kind, bus = req["id"], req.get("kind", "blk"), req["bus"]
        if kind not in ("blk", "net"):
            return {"error": f"unknown device kind {kind}"}
        sock = os.path.join(self.dir, vid + ".sock")
        out = open(os.path.join(self.dir, vid + ".log"), "w")
        cmd = [self.binary, kind, "--socket", sock] + [str(a) for a in req.get("args", [])]
        log.write(f"rvirtio-host: starting {' '.join(cmd)}\n")
        self.procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT))
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        else:
            return {"error": f"rvdev did not create {sock}"}
        reply = self.qmp.command({
            "execute": "chardev-add",
            "arguments": {"id": vid, "backend": {"type": "socket", "data": {
                "addr": {"type": "unix", "data": {"path": sock}}, "server": False}}}})
        if "error" in reply:
            return reply
        if kind == "blk":
            device = {"driver": "vhost-user-blk-pci", "chardev": vid, "num-queues": 1}
        else:
            reply = self.qmp.command({
                "execute": "netdev_add",
                "arguments": {"type": "vhost-user", "id": vid, "chardev": vid}})
            if "error" in reply:
                return reply
            # vectors=0: QEMU 7.2 under TCG crashes in msix_set_vector_notifiers()
            # when a vhost-user netdev starts on a NIC with MSI-X.
            device = {"driver": "virtio-net-pci", "netdev": vid, "vectors": 0,
                      "romfile": "", "mac": req.get("mac", "52:54:00:77:00:02")}
        device.update({"id": vid, "bus": bus})
        return self.qmp.command({"execute": "device_add", "arguments": device})

    def close(self, log):
        for p in self.procs:
            p.kill()
            p.wait()
        for name in sorted(os.listdir(self.dir)):
            path = os.path.join(self.dir, name)
            if name.endswith(".log"):
                with open(path, errors="replace") as f:
                    for line in f:
                        log.write(f"rvirtio-vdev: {name[:-4]}: {line}")
            os.unlink(path)
        os.rmdir(self.dir)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--qmp")
    ap.add_argument("--rvdev", help="the vhost-user device program (qemu-scripts/vdev)")
    ap.add_argument("--progress", action="store_true", help="show only progress lines")
    args = ap.parse_args()

    qmp = Qmp(args.qmp) if args.qmp else None
    vdevs = Vdevs(args.rvdev, qmp) if args.rvdev and qmp else None
    with open(args.log, "w", errors="replace") as log:
        try:
            run(args, qmp, vdevs, log)
        finally:
            if vdevs is not None:
                vdevs.close(log)
    return 0


def request_at(line, start):
    """The JSON object that starts at line[start]. A kernel message printed on
    the same console can follow it on the line (the guest's write and the
    kernel's interleave); what follows the object is not part of it."""
    obj, _ = json.JSONDecoder().raw_decode(line[start:].lstrip())
    return obj


def run(args, qmp, vdevs, log):
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
                reply = qmp.command(request_at(line, i + len(REQUEST)))
            except (OSError, ValueError) as e:
                reply = {"error": str(e)}
            log.write(f"rvirtio-host: {json.dumps(reply)}\n")
            log.flush()
        i = line.find(VDEV)
        if i >= 0:
            if vdevs is None:
                reply = {"error": "no rvdev program (console-agent.py --rvdev)"}
            else:
                try:
                    reply = vdevs.plug(request_at(line, i + len(VDEV)), log)
                except (OSError, ValueError, KeyError) as e:
                    reply = {"error": str(e)}
            log.write(f"rvirtio-host: {json.dumps(reply)}\n")
            log.flush()


if __name__ == "__main__":
    sys.exit(main())
