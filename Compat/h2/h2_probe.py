#!/usr/bin/env python3
"""h2_probe: sends the HTTP/2 input a well-behaved client never sends, and reports what came back.

    h2_probe.py garbage-after-preface PORT    valid client magic, then bytes that are no SETTINGS frame
    h2_probe.py bad-magic PORT                "PRI * HTTP/2.0\\r\\n\\r\\n" followed by garbage, not "SM\\r\\n\\r\\n"
    h2_probe.py send PORT [--head-only] < BYTES  any bytes (an odd HTTP/1.1 request); --head-only stops at the
                                              end of an HTTP/1.1 answer head
    h2_probe.py big-header PORT [--size N]   GET /healthz with one N-byte header (70 KiB), then a plain one
    h2_probe.py refused URL (--streamtype T | --other-path)
        a channel-mode session (error stream with the v4 offer, then stdout) with one extra stream in between:
        streamtype T (unknown or duplicate), or a stdout stream on another exec path.

Prints key=value lines (the suite checks them): frames (types received, in order), goaway_code, goaway_debug,
closed, http1_status; for big-header: big_reset_code or big_status, then next_status and next_body (the same
connection still serves); for refused: bad_reset_code or bad_status, first_status, stdout, error_stream.
Loopback only, every wait bounded (--timeout, 10 s). Exit 0 when it could run the probe, 1 otherwise.
"""

import argparse
import socket
import sys
import time
import urllib.parse

import h2.config
import h2.connection
import h2.events
import h2.exceptions

MAGIC = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_NAMES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS", 5: "PUSH_PROMISE",
               6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"}
MAX_READ = 1 << 20


def out(key, value):
    sys.stdout.write("%s=%s\n" % (key, value))


def read_all(sock, timeout, head_only=False):
    """Everything the server sends until it closes (closed=1) or `timeout` passes (closed=0), at most 1 MiB;
    with head_only, up to the end of an HTTP/1.1 answer head."""
    deadline = time.monotonic() + timeout
    buf = b""
    while len(buf) < MAX_READ and not (head_only and b"\r\n\r\n" in buf):
        left = deadline - time.monotonic()
        if left <= 0:
            return buf, False
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return buf, False
        except ConnectionResetError:
            return buf, True
        if not data:
            return buf, True
        buf += data
    return buf, False


def report_frames(buf):
    """Names the frames in `buf` (server frames, no preface) and the GOAWAY's code and debug text."""
    names = []
    pos = 0
    while pos + 9 <= len(buf):
        length = int.from_bytes(buf[pos:pos + 3], "big")
        ftype = buf[pos + 3]
        payload = buf[pos + 9:pos + 9 + length]
        names.append(FRAME_NAMES.get(ftype, "TYPE%d" % ftype))
        if ftype == 7 and len(payload) >= 8:
            out("goaway_last_stream", int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF)
            out("goaway_code", int.from_bytes(payload[4:8], "big"))
            out("goaway_debug", payload[8:].decode("utf-8", "replace").replace("\n", " "))
        pos += 9 + length
    out("frames", ",".join(names))


def raw_probe(port, payload, timeout, head_only=False):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(payload)
    buf, closed = read_all(sock, timeout, head_only)
    sock.close()
    out("bytes", len(buf))
    if buf.startswith(b"HTTP/1."):
        line = buf.split(b"\r\n", 1)[0].decode("latin-1")
        out("http1_status", line.split(" ")[1] if " " in line else "?")
    else:
        report_frames(buf)
    out("closed", 1 if closed else 0)


class Exchange:
    """A client h2 connection on a socket, with the answers per stream (status, data, reset code, end)."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.deadline = time.monotonic() + timeout
        self.status, self.reset, self.data, self.ended = {}, {}, {}, set()

    def pump(self, done):
        self.sock.sendall(self.conn.data_to_send())
        while not done():
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                return
            for ev in self.conn.receive_data(data):
                sid = getattr(ev, "stream_id", None)
                if isinstance(ev, h2.events.ResponseReceived):
                    self.status[sid] = dict(ev.headers).get(":status")
                elif isinstance(ev, h2.events.DataReceived):
                    self.data[sid] = self.data.get(sid, b"") + ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamReset):
                    self.reset[sid] = int(ev.error_code)
                    self.ended.add(sid)
                elif isinstance(ev, h2.events.StreamEnded):
                    self.ended.add(sid)
            self.sock.sendall(self.conn.data_to_send())

    def close(self):
        self.conn.close_connection()
        try:
            self.sock.sendall(self.conn.data_to_send())
        except OSError:
            pass
        self.sock.close()


def big_header(port, size, timeout):
    x = Exchange("127.0.0.1", port, timeout)
    base = [(":method", "GET"), (":scheme", "http"), (":authority", "127.0.0.1:%d" % port), (":path", "/healthz")]
    # Sent before the server's SETTINGS are read, as curl does: h2 does not hold us to its header limit yet.
    x.conn.send_headers(1, base + [("x-big", "a" * size)], end_stream=True)
    x.pump(lambda: 1 in x.ended)
    if 1 in x.reset:
        out("big_reset_code", x.reset[1])
    else:
        out("big_status", x.status.get(1, ""))
    x.conn.send_headers(3, base, end_stream=True)
    x.pump(lambda: 3 in x.ended)
    out("next_status", x.status.get(3, ""))
    out("next_body", x.data.get(3, b"").decode("utf-8", "replace"))
    x.close()


def refused(url, streamtype, other_path, timeout):
    u = urllib.parse.urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    x = Exchange(u.hostname, u.port or 80, timeout)

    def headers(kind, p=path, offer=False):
        h = [(":method", "POST"), (":scheme", "http"), (":authority", u.netloc), (":path", p), ("streamtype", kind)]
        return h + ([("x-stream-protocol-version", "v4.channel.k8s.io")] if offer else [])

    x.conn.send_headers(1, headers("error", offer=True))
    x.pump(lambda: 1 in x.status or 1 in x.ended)
    out("first_status", x.status.get(1, ""))
    if other_path:
        bad = path.replace("/exec", "/exec-elsewhere", 1) if "/exec" in path else path + "x"
        x.conn.send_headers(3, headers("stdout", p=bad))
    else:
        x.conn.send_headers(3, headers(streamtype))
    x.pump(lambda: 3 in x.status or 3 in x.ended)
    if 3 in x.reset:
        out("bad_reset_code", x.reset[3])
    else:
        out("bad_status", x.status.get(3, ""))
    x.conn.send_headers(5, headers("stdout"))
    x.pump(lambda: 1 in x.ended and 5 in x.ended)
    out("stdout", x.data.get(5, b"").decode("utf-8", "replace").strip())
    out("error_stream", x.data.get(1, b"").decode("utf-8", "replace"))
    x.close()


def main(argv):
    p = argparse.ArgumentParser(prog="h2_probe.py", description=__doc__.split("\n")[0])
    p.add_argument("--timeout", type=float, default=10.0)
    sub = p.add_subparsers(dest="probe", required=True)
    for name in ("garbage-after-preface", "bad-magic"):
        sub.add_parser(name).add_argument("port", type=int)
    snd = sub.add_parser("send")
    snd.add_argument("port", type=int)
    snd.add_argument("--head-only", action="store_true")
    b = sub.add_parser("big-header")
    b.add_argument("port", type=int)
    b.add_argument("--size", type=int, default=70 << 10)
    r = sub.add_parser("refused")
    r.add_argument("url")
    g = r.add_mutually_exclusive_group(required=True)
    g.add_argument("--streamtype")
    g.add_argument("--other-path", action="store_true")
    opts = p.parse_args(argv)
    try:
        if opts.probe == "garbage-after-preface":
            raw_probe(opts.port, MAGIC + b"this is not an HTTP/2 frame at all\r\n", opts.timeout)
        elif opts.probe == "bad-magic":
            raw_probe(opts.port, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + b"\x00" * 32, opts.timeout)
        elif opts.probe == "send":
            raw_probe(opts.port, sys.stdin.buffer.read(MAX_READ), opts.timeout, opts.head_only)
        elif opts.probe == "big-header":
            big_header(opts.port, opts.size, opts.timeout)
        else:
            refused(opts.url, opts.streamtype, opts.other_path, opts.timeout)
    except (OSError, TimeoutError, h2.exceptions.H2Error) as e:
        out("error", str(e).replace("\n", " "))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
