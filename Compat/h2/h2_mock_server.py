#!/usr/bin/env python3
"""h2_mock_server: a small stand-in for ExecBridge's HTTP/2 exec generation (spec §5), on the `h2` package.

It exists so that h2_exec_client.py can be exercised before the gateway speaks HTTP/2; it is a test double,
not a reference: local processes, no tty (tty requests run without a terminal, resizes are read and dropped),
loopback only.

    h2_mock_server.py [--listen 127.0.0.1:0] [--port-file F] [--versions v4...,v3...]

Serves prior-knowledge HTTP/2 and h2c upgrades on any path with an exec query (command=..., kubelet or
apiserver flags); channel mode (streamtype streams) and single-stream mode (trailers exec-exit-code/status).
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import urllib.parse

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2_exec_client import DEFAULT_VERSIONS, VERSION_NUMBER, query_streams  # noqa: E402

PREFACE_HEAD = b"PRI * HTTP/2.0\r\n\r\n"


def status_json(code, detail=None):
    """The Status the error stream carries (field order as metav1.Status)."""
    if detail is not None:
        return json.dumps({"metadata": {}, "status": "Failure", "message": detail, "reason": "InternalError",
                           "details": {"causes": [{"message": detail}]}, "code": 500}, separators=(",", ":"))
    if code == 0:
        return '{"metadata":{},"status":"Success"}'
    return json.dumps({"metadata": {}, "status": "Failure",
                       "message": "command terminated with non-zero exit code: exit status %d" % code,
                       "reason": "NonZeroExitCode",
                       "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}},
                      separators=(",", ":"))


class Refusal(Exception):
    def __init__(self, status, message, headers=()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


class Connection:
    def __init__(self, reader, writer, versions):
        self.reader, self.writer, self.versions = reader, writer, versions
        self.h2 = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.window_open = asyncio.Event()
        self.session = None      # path, options, argv, protocol, single
        self.channels = {}       # name -> stream id
        self.stdin_queue = None
        self.proc_task = None
        self.upgrade_stream = None

    # -- plumbing --

    async def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def send(self, sid, data, end=False):
        """DATA within the client's windows: the pump waits rather than queueing past them."""
        view = memoryview(data)
        while view:
            room = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if room <= 0:
                self.window_open.clear()
                await self.window_open.wait()
                continue
            self.h2.send_data(sid, bytes(view[:room]))
            view = view[room:]
            await self.flush()
        if end:
            self.h2.end_stream(sid)
            await self.flush()

    # -- session definition --

    def define(self, path, headers, single):
        query = urllib.parse.urlsplit(path).query
        flags = query_streams(query)
        argv = urllib.parse.parse_qs(query).get("command", [])
        if flags["tty"]:
            flags["stderr"] = False
        if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
            raise Refusal(400, "you must specify at least 1 of stdin, stdout, stderr")
        if not argv:
            raise Refusal(400, "you must specify a command")
        protocol = ""
        offered = []
        for k, v in headers:
            if k == "x-stream-protocol-version":
                offered += [x.strip() for x in v.split(",") if x.strip()]
        if offered:
            protocol = next((v for v in offered if v in self.versions), None)
            if protocol is None:
                raise Refusal(403, "unable to upgrade: unable to negotiate protocol: client supports %s, server "
                              "accepts %s" % (offered, self.versions),
                              [("x-accepted-stream-protocol-versions", v) for v in self.versions])
        self.session = {"path": path, "flags": flags, "argv": argv, "protocol": protocol, "single": single,
                        "version": VERSION_NUMBER.get(protocol, 4)}
        # Queued from the start: stdin may arrive before the process exists.
        self.stdin_queue = asyncio.Queue() if flags["stdin"] else None
        expected = ["error"] + [n for n in ("stdin", "stdout", "stderr") if flags[n]]
        if flags["tty"] and self.session["version"] >= 3:
            expected.append("resize")
        self.session["expected"] = expected

    async def refuse(self, sid, refusal):
        body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": refusal.message, "code": refusal.status}).encode()
        self.h2.send_headers(sid, [(":status", str(refusal.status)), ("content-type", "application/json")]
                             + refusal.headers)
        await self.send(sid, body, end=True)

    # -- streams --

    async def on_request(self, ev):
        headers = ev.headers
        h = dict(headers)
        path, streamtype = h.get(":path", ""), h.get("streamtype")
        if self.session is None:
            try:
                self.define(path, headers, single=streamtype is None)
            except Refusal as r:
                await self.refuse(ev.stream_id, r)
                return
            if self.session["single"]:
                await self.start_single(ev.stream_id)
                return
        s = self.session
        if s["single"] or path != s["path"] or streamtype not in s["expected"] or streamtype in self.channels:
            self.h2.reset_stream(ev.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
            await self.flush()
            return
        self.channels[streamtype] = ev.stream_id
        self.h2.send_headers(ev.stream_id, [(":status", "200"), ("x-stream-protocol-version", s["protocol"])])
        await self.flush()
        if len(self.channels) == len(s["expected"]):
            self.proc_task = asyncio.ensure_future(self.run_channels())

    async def start_single(self, sid):
        self.channels["session"] = sid
        self.h2.send_headers(sid, [(":status", "200"), ("content-type", "application/octet-stream")])
        await self.flush()
        self.proc_task = asyncio.ensure_future(self.run_single(sid))

    async def spawn(self, merge):
        s = self.session
        stdin = asyncio.subprocess.PIPE if s["flags"]["stdin"] else asyncio.subprocess.DEVNULL
        stderr = asyncio.subprocess.STDOUT if merge else asyncio.subprocess.PIPE
        proc = await asyncio.create_subprocess_exec(*s["argv"], stdin=stdin, stdout=asyncio.subprocess.PIPE,
                                                    stderr=stderr, start_new_session=True)
        if self.stdin_queue is not None:
            asyncio.ensure_future(self.feed_stdin(proc))
        return proc

    async def feed_stdin(self, proc):
        """Client DATA into the process; the window is handed back only once the pipe took the bytes."""
        while True:
            item = await self.stdin_queue.get()
            if item is None:
                break
            data, length, sid = item
            try:
                proc.stdin.write(data)
                await proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.h2.acknowledge_received_data(length, sid)
            await self.flush()
        try:
            proc.stdin.close()
        except OSError:
            pass

    async def pump(self, src, sid):
        while True:
            chunk = await src.read(65536)
            if not chunk:
                return
            if sid is not None:
                await self.send(sid, chunk)

    @staticmethod
    def exit_code(proc):
        rc = proc.returncode
        return 128 - rc if rc < 0 else rc

    async def run_channels(self):
        try:
            proc = await self.spawn(merge=False)
        except OSError as e:
            await self.finish_channels(status_json(0, "error executing command in container: %s" % e))
            return
        await asyncio.gather(self.pump(proc.stdout, self.channels.get("stdout")),
                             self.pump(proc.stderr, self.channels.get("stderr")))
        await proc.wait()
        code = self.exit_code(proc)
        v = self.session["version"]
        text = status_json(code) if v >= 4 else ("" if code == 0 else
                                                 "command terminated with non-zero exit code: exit status %d" % code)
        await self.finish_channels(text)

    async def finish_channels(self, status_text):
        for name in ("stdout", "stderr"):
            if name in self.channels:
                await self.send(self.channels[name], b"", end=True)
        await self.send(self.channels["error"], status_text.encode(), end=True)
        for name in ("resize", "stdin"):
            if name in self.channels:
                try:
                    self.h2.end_stream(self.channels[name])
                except h2.exceptions.H2Error:
                    pass
        if self.upgrade_stream is not None:
            self.h2.end_stream(self.upgrade_stream)
        await self.flush()

    async def run_single(self, sid):
        try:
            proc = await self.spawn(merge=True)
        except OSError as e:
            msg = "error executing command in container: %s" % e
            self.h2.send_headers(sid, [("exec-status", status_json(0, msg))], end_stream=True)
            await self.flush()
            return
        await self.pump(proc.stdout, sid)
        await proc.wait()
        code = self.exit_code(proc)
        self.h2.send_headers(sid, [("exec-exit-code", str(code)), ("exec-status", status_json(code))],
                             end_stream=True)
        await self.flush()

    async def on_data(self, ev):
        stdin_sid = self.channels.get("stdin", self.channels.get("session"))
        if self.stdin_queue is not None and ev.stream_id == stdin_sid:
            await self.stdin_queue.put((ev.data, ev.flow_controlled_length, ev.stream_id))
        else:
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            await self.flush()

    async def on_end(self, ev):
        stdin_sid = self.channels.get("stdin", self.channels.get("session"))
        if ev.stream_id == stdin_sid:
            if self.stdin_queue is not None:
                await self.stdin_queue.put(None)

    # -- connection --

    async def serve(self):
        head = await self.reader.readuntil(b"\r\n\r\n")
        if head == PREFACE_HEAD:
            self.h2.initiate_connection()
            await self.flush()
            events = self.h2.receive_data(head + await self.reader.readexactly(6))
        else:
            events = await self.upgrade(head)
            if events is None:
                return
        await self.dispatch(events)
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            await self.dispatch(self.h2.receive_data(data))

    async def upgrade(self, head):
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
        headers = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers.append((k.strip().lower(), v.strip()))
        h = dict(headers)
        length = int(h.get("content-length", "0") or 0)
        body = await self.reader.readexactly(length) if length else b""
        if "h2c" not in h.get("upgrade", "").lower() or "http2-settings" not in h:
            self.writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 24\r\nConnection: close\r\n\r\n"
                              b"Upgrade request required")
            await self.writer.drain()
            return None
        try:
            self.define(path, headers, single="x-stream-protocol-version" not in h)
        except Refusal as r:
            extra = "".join("%s: %s\r\n" % (k, v) for k, v in r.headers)
            data = r.message.encode()
            self.writer.write(("HTTP/1.1 %d Refused\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n"
                               % (r.status, len(data), extra)).encode() + data)
            await self.writer.drain()
            return None
        self.writer.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        self.h2.initiate_upgrade_connection(h["http2-settings"].encode())
        await self.flush()
        preface = await self.reader.readexactly(24)
        events = self.h2.receive_data(preface)
        if self.session["single"]:
            await self.start_single(1)
            if body and self.stdin_queue is not None:
                await self.stdin_queue.put((body, 0, 1))
            if self.stdin_queue is not None:
                await self.stdin_queue.put(None)
        else:
            self.upgrade_stream = 1
            self.h2.send_headers(1, [(":status", "200"), ("x-stream-protocol-version", self.session["protocol"])])
            await self.flush()
        return events

    async def dispatch(self, events):
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                await self.on_request(ev)
            elif isinstance(ev, h2.events.DataReceived):
                await self.on_data(ev)
            elif isinstance(ev, h2.events.StreamEnded):
                await self.on_end(ev)
            elif isinstance(ev, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                self.window_open.set()
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.window_open.set()
        await self.flush()


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--port-file")
    p.add_argument("--versions", default=DEFAULT_VERSIONS)
    o = p.parse_args()
    host, port = o.listen.rsplit(":", 1)
    if host not in ("127.0.0.1", "::1", "localhost"):
        p.error("loopback only: this server runs arbitrary commands")
    versions = [v.strip() for v in o.versions.split(",") if v.strip()]

    async def handle(reader, writer):
        conn = Connection(reader, writer, versions)
        try:
            await conn.serve()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except h2.exceptions.ProtocolError as e:
            sys.stderr.write("h2-mock-server: protocol error: %s\n" % e)
        finally:
            if conn.proc_task is not None:
                try:
                    await asyncio.wait_for(conn.proc_task, 30)
                except (asyncio.TimeoutError, Exception):
                    pass
            writer.close()

    server = await asyncio.start_server(handle, host, int(port))
    actual = server.sockets[0].getsockname()[1]
    if o.port_file:
        with open(o.port_file + ".tmp", "w") as f:
            f.write("%d\n" % actual)
        os.rename(o.port_file + ".tmp", o.port_file)
    print("listening on %s:%d" % (host, actual), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
