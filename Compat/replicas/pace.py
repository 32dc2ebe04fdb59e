#!/usr/bin/env python3
"""Small tools of the replicas case (Compat/cases/replicas.sh); standard library only.

  pace.py feed FILE CHUNK INTERVAL    copy FILE to stdout in CHUNK-byte pieces, INTERVAL seconds apart
                                      (a client typing into a long session); ends quietly if the pipe closes
  pace.py stamp OUT STATS             copy stdin to OUT; STATS gets first_byte=S (seconds from the start to the
                                      first byte), max_gap=S (the longest wait between two reads after it) and
                                      bytes=N; OUT.started appears with the first byte
  pace.py servers SOCKET BACKEND      one line "NAME STATUS" per server of BACKEND, from HAProxy's stats socket
"""
import os
import socket
import sys
import time


def feed(path, chunk, interval):
    chunk = int(chunk)
    interval = float(interval)
    out = sys.stdout.buffer
    try:
        with open(path, "rb") as f:
            while True:
                piece = f.read(chunk)
                if not piece:
                    break
                out.write(piece)
                out.flush()
                time.sleep(interval)
    except BrokenPipeError:
        # The client is gone (a killed replica): its own exit code tells the case.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def stamp(out_path, stats_path):
    start = time.monotonic()
    first = None
    last = None
    gap = 0.0
    total = 0
    src = sys.stdin.buffer.raw
    with open(out_path, "wb") as out:
        while True:
            data = src.read(65536)
            if not data:
                break
            now = time.monotonic()
            if first is None:
                first = now - start
                open(out_path + ".started", "w").close()
            elif now - last > gap:
                gap = now - last
            last = now
            total += len(data)
            out.write(data)
            out.flush()
    with open(stats_path, "w") as s:
        s.write("first_byte=%.3f\nmax_gap=%.3f\nbytes=%d\n" % (first if first is not None else -1, gap, total))


def servers(sock_path, backend):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(b"show stat\n")
    data = b""
    while True:
        part = s.recv(65536)
        if not part:
            break
        data += part
    s.close()
    lines = data.decode(errors="replace").splitlines()
    if not lines or not lines[0].startswith("# "):
        return
    header = lines[0][2:].split(",")
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == backend and row.get("svname") not in ("BACKEND", "FRONTEND"):
            print(row["svname"], row.get("status", "?").split(" ")[0])


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"feed": feed, "stamp": stamp, "servers": servers}[cmd](*args)
