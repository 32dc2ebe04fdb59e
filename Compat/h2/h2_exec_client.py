#!/usr/bin/env python3
"""h2_exec_client: one exec over ExecBridge's HTTP/2 generation (spec §5), on the `h2` package.

    h2_exec_client.py [options] URL

Channel mode (default): one client-opened POST stream per channel with a `streamtype` header, opened in
client-go's order (error, stdin, stdout, stderr, resize), each answered with :status 200 before the next is
opened; the first carries the X-Stream-Protocol-Version offers and its answer names the chosen version.
stdin goes out as DATA with END_STREAM at EOF; stdout/stderr come back as DATA; the error stream carries the
status (v4: JSON Status; v1-v3: text on failure only).

--single-stream: the request stream *is* the session (spec §5 item 7): body = stdin, response body = output,
trailers exec-exit-code / exec-status.

Connection: prior knowledge on http:// (default), h2c upgrade with --upgrade, TLS + ALPN h2 on https://.
Exit status: the remote exit code; 1 on any other error; 124 when --timeout expires.
"""

import argparse
import base64
import json
import os
import queue
import selectors
import socket
import ssl
import sys
import threading
import time
import urllib.parse

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

V1, V2, V3, V4, V5 = ("channel.k8s.io", "v2.channel.k8s.io", "v3.channel.k8s.io",
                      "v4.channel.k8s.io", "v5.channel.k8s.io")
DEFAULT_VERSIONS = ",".join([V4, V3, V2, V1])
VERSION_NUMBER = {"": 1, V1: 1, V2: 2, V3: 3, V4: 4, V5: 4}

MAX_ERROR_STREAM = 1 << 20      # a Status is a few hundred bytes
MAX_STDIN_PENDING = 256 << 10   # stdin bytes held while the server's window is closed
MAX_OUTBUF = 256 << 10          # bytes queued toward the socket before stdin stops being pulled
MAX_UPGRADE_HEAD = 64 << 10
MAX_UPGRADE_BODY = 64 << 20     # single-stream over h2c: stdin travels as the HTTP/1.1 body
RECEIVE_WINDOW = 1 << 20


class Failure(Exception):
    """Ends the exec with a message on stderr and exit code 1."""


class Timeout(Exception):
    pass


def log(opts, msg):
    if opts.verbose:
        sys.stderr.write("h2-exec-client: %s\n" % msg)
        sys.stderr.flush()


# --- options ---------------------------------------------------------------------------------------------------

def query_streams(query):
    """Which streams the URL asks for: kubelet style (input/output/error/tty == "1") or apiserver style
    (stdin/stdout/stderr true unless "0"/"false"); tty follows apiserver rules only with apiserver names."""
    q = urllib.parse.parse_qs(query, keep_blank_values=True)

    def kubelet(name):
        return q.get(name, [None])[0] == "1"

    def apiserver(name):
        if name not in q:
            return False
        return q[name][0].lower() not in ("0", "false")

    api_style = any(k in q for k in ("stdin", "stdout", "stderr"))
    return {
        "stdin": kubelet("input") or apiserver("stdin"),
        "stdout": kubelet("output") or apiserver("stdout"),
        "stderr": kubelet("error") or apiserver("stderr"),
        "tty": kubelet("tty") or (api_style and apiserver("tty")),
    }


def parse_size(text):
    try:
        w, h = text.lower().split("x", 1)
        w, h = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError("want WxH, e.g. 100x40")
    if not (0 <= w < 65536 and 0 <= h < 65536):
        raise argparse.ArgumentTypeError("sizes are 16-bit")
    return w, h


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="h2_exec_client.py",
        description="One exec over ExecBridge's HTTP/2 generation; exits with the remote exit code.")
    p.add_argument("url", help="exec URL with its whole query (http:// or https://)")
    p.add_argument("--upgrade", action="store_true", help="h2c upgrade from HTTP/1.1 instead of prior knowledge")
    p.add_argument("--single-stream", action="store_true",
                   help="single-stream exec: body = stdin, response = output, trailers = exit status")
    p.add_argument("--method", default="POST", help="method of the exec streams / upgrade request (POST)")
    p.add_argument("--versions", default=DEFAULT_VERSIONS, help="offered channel versions, preferred first")
    p.add_argument("--no-version-header", action="store_true", help="offer no X-Stream-Protocol-Version")
    for name in ("stdin", "stdout", "stderr", "tty"):
        p.add_argument("--" + name, dest=name, action=argparse.BooleanOptionalAction, default=None,
                       help="open the %s channel (default: from the URL query)" % name)
    p.add_argument("--resize", type=parse_size, help="WxH sent on the resize stream right after the streams exist")
    p.add_argument("-H", dest="headers", action="append", default=[], help="extra request header 'Name: value'")
    p.add_argument("--insecure", action="store_true", help="https: do not verify the certificate")
    p.add_argument("--cacert", help="https: PEM CA file to trust")
    p.add_argument("--ping", type=float, default=5.0, help="PING period in seconds (0 = none)")
    p.add_argument("--stream-timeout", type=float, default=30.0, help="wait for each stream's answer (s)")
    p.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds (exit 124); 0 = never")
    p.add_argument("--strict", action="store_true",
                   help="v4: an error stream that ends without a Status is a failure")
    p.add_argument("--max-frame-size", type=int, default=0,
                   help="announce SETTINGS_MAX_FRAME_SIZE (16384..16777215); the report's largest_data_frame shows use")
    p.add_argument("--report", help="write a key=value summary (http_status, protocol, exit, ...) here")
    p.add_argument("--save-error-stream", metavar="FILE",
                   help="write the raw error stream (single-stream: the exec-status trailer) to FILE")
    p.add_argument("-v", "--verbose", action="store_true", help="log the steps to stderr")
    opts = p.parse_args(argv)

    u = urllib.parse.urlsplit(opts.url)
    if u.scheme not in ("http", "https") or not u.hostname:
        p.error("URL must be http:// or https:// with a host")
    if opts.upgrade and u.scheme != "http":
        p.error("--upgrade is h2c: http:// only")
    opts.parsed = u
    opts.path = (u.path or "/") + ("?" + u.query if u.query else "")
    opts.port = u.port or (443 if u.scheme == "https" else 80)
    opts.authority = u.netloc.rsplit("@", 1)[-1]
    opts.offered = [] if opts.no_version_header else [v.strip() for v in opts.versions.split(",") if v.strip()]
    wanted = query_streams(u.query)
    for name in ("stdin", "stdout", "stderr", "tty"):
        if getattr(opts, name) is None:
            setattr(opts, name, wanted[name])
    extra = []
    for h in opts.headers:
        if ":" not in h:
            p.error("bad -H %r: want 'Name: value'" % h)
        name, value = h.split(":", 1)
        extra.append((name.strip().lower(), value.strip()))
    opts.extra_headers = extra
    return opts


# --- error stream ----------------------------------------------------------------------------------------------

def decode_status(message, version):
    """client-go's error decoders: returns (exit code, message or None)."""
    if version == 1:
        return 1, "error: Error executing remote command: %s" % message.decode("utf-8", "replace")
    if version < 4:
        return 1, "error: error executing remote command: %s" % message.decode("utf-8", "replace")
    try:
        st = json.loads(message)
    except ValueError as e:
        return 1, "error: error stream protocol error: %s in %r" % (e, message)
    if not isinstance(st, dict):
        return 1, "error: error stream protocol error: not an object in %r" % message
    if st.get("status") == "Success":
        return 0, None
    if st.get("status") != "Failure":
        return 1, "error: error stream protocol error: unknown error"
    if st.get("reason") == "NonZeroExitCode":
        details = st.get("details")
        if not isinstance(details, dict):
            return 1, "error: error stream protocol error: details must be set"
        for cause in details.get("causes") or []:
            if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                text = cause.get("message", "")
                if not (isinstance(text, str) and text.isdigit() and int(text) <= 255):
                    return 1, "error: error stream protocol error: invalid exit code value %r" % text
                return int(text), "command terminated with exit code %s" % int(text)
        return 1, "error: error stream protocol error: no ExitCode cause given"
    return 1, "error: %s" % st.get("message", "")


# --- stdin -----------------------------------------------------------------------------------------------------

class StdinPump(threading.Thread):
    """Reads this process's stdin on a thread (regular files cannot be polled) into a small bounded queue:
    a full queue stops the reading, so a slow server window bounds memory."""

    def __init__(self, wake_fd):
        super().__init__(daemon=True)
        self.q = queue.Queue(maxsize=8)
        self.wake_fd = wake_fd

    def run(self):
        fd = sys.stdin.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            self.q.put(data)
            try:
                os.write(self.wake_fd, b"!")
            except (BlockingIOError, OSError):
                pass  # the loop is already due to wake up
            if not data:
                return


# --- the client ------------------------------------------------------------------------------------------------

class Channel:
    def __init__(self, name, stream_id):
        self.name = name
        self.id = stream_id
        self.status = None
        self.headers = {}
        self.body = bytearray()     # error stream, or a refused stream's body
        self.trailers = {}
        self.ended = False          # the server's half is over (END_STREAM, reset or connection end)
        self.reset = False


class Client:
    def __init__(self, opts):
        self.opts = opts
        self.report = {}
        self.sock = None
        self.registered = False     # the socket is in the selector (HTTP/2 has started)
        self.sel = selectors.DefaultSelector()
        self.outbuf = bytearray()
        self.peer_closed = False
        self.goaway = None
        self.channels = {}          # stream id -> Channel
        self.by_name = {}
        self.stdin_pump = None
        self.stdin_pending = bytearray()
        self.stdin_eof = False
        self.stdin_done = False
        self.next_ping = time.monotonic() + opts.ping if opts.ping > 0 else None
        self.deadline = time.monotonic() + opts.timeout if opts.timeout > 0 else None
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.h2 = h2.connection.H2Connection(config=cfg)
        self.version = 1

    # -- socket --

    def connect(self):
        o = self.opts
        raw = socket.create_connection((o.parsed.hostname, o.port), timeout=30)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if o.parsed.scheme == "https":
            ctx = ssl.create_default_context(cafile=o.cacert) if o.cacert else ssl.create_default_context()
            if o.insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            raw = ctx.wrap_socket(raw, server_hostname=o.parsed.hostname)
            if raw.selected_alpn_protocol() != "h2":
                raise Failure("error: server did not negotiate h2 with ALPN (got %r)" % raw.selected_alpn_protocol())
        self.sock = raw

    def start_loop(self, leftover=b""):
        self.sock.setblocking(False)
        self.sel.register(self.sock, selectors.EVENT_READ, "sock")
        self.registered = True
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.queue_out()
        if leftover:
            self.handle(self.h2.receive_data(leftover))

    def queue_out(self):
        data = self.h2.data_to_send()
        if data:
            self.outbuf += data
        self.write_some()

    def write_some(self):
        while self.outbuf:
            try:
                n = self.sock.send(self.outbuf)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                break
            except OSError as e:
                log(self.opts, "write failed: %s" % e)
                self.outbuf.clear()
                self.connection_lost()
                break
            del self.outbuf[:n]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbuf else 0)
        if self.registered and not self.peer_closed:
            self.sel.modify(self.sock, events, "sock")

    def read_some(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except OSError as e:
                log(self.opts, "read failed: %s" % e)
                data = b""
            if not data:
                self.connection_lost()
                return
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.ProtocolError as e:
                self.queue_out()
                raise Failure("error: HTTP/2 protocol error from server: %s" % e)
            self.handle(events)
            if not (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
                return

    def connection_lost(self):
        if self.peer_closed:
            return
        self.peer_closed = True
        log(self.opts, "connection closed by the server")
        if self.registered:
            self.sel.unregister(self.sock)
            self.registered = False
        for ch in self.channels.values():
            ch.ended = True

    # -- events --

    def handle(self, events):
        for ev in events:
            ch = self.channels.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived) and ch:
                ch.headers = {}
                for k, v in ev.headers:
                    ch.headers.setdefault(k, v)
                ch.status = ch.headers.get(":status")
                log(self.opts, "stream %d (%s): %s" % (ch.id, ch.name, ch.status))
            elif isinstance(ev, h2.events.InformationalResponseReceived):
                pass
            elif isinstance(ev, h2.events.DataReceived):
                largest = int(self.report.get("largest_data_frame", "0"))
                self.report["largest_data_frame"] = str(max(largest, ev.flow_controlled_length))
                self.on_data(ch, ev)
            elif isinstance(ev, h2.events.TrailersReceived) and ch:
                ch.trailers = dict(ev.headers)
            elif isinstance(ev, h2.events.StreamEnded) and ch:
                ch.ended = True
            elif isinstance(ev, h2.events.StreamReset) and ch:
                log(self.opts, "stream %d (%s) reset by server, code %s" % (ch.id, ch.name, ev.error_code))
                ch.ended = ch.reset = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = ev
                log(self.opts, "GOAWAY: code %s, last stream %s" % (ev.error_code, ev.last_stream_id))
                for c in self.channels.values():
                    if ev.last_stream_id is None or c.id > ev.last_stream_id:
                        c.ended = True
        self.queue_out()

    def on_data(self, ch, ev):
        if ch is None or ch.status != "200":
            if ch is not None and len(ch.body) < MAX_ERROR_STREAM:
                ch.body += ev.data[:MAX_ERROR_STREAM - len(ch.body)]
        elif ch.name == "stdout" or (ch.name == "session" and self.opts.single_stream):
            sys.stdout.buffer.write(ev.data)
            sys.stdout.buffer.flush()
        elif ch.name == "stderr":
            sys.stderr.buffer.write(ev.data)
            sys.stderr.buffer.flush()
        elif ch.name == "error" and len(ch.body) < MAX_ERROR_STREAM:
            ch.body += ev.data[:MAX_ERROR_STREAM - len(ch.body)]
        # Hand the window back only once the bytes are written out: our stdout's pace paces the server.
        self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)

    # -- loop --

    def loop_until(self, done, limit=None, what="the server"):
        give_up = self.deadline
        if limit is not None:
            t = time.monotonic() + limit
            give_up = t if give_up is None else min(give_up, t)
        while not done():
            if self.peer_closed:
                return
            self.feed_stdin()
            now = time.monotonic()
            if give_up is not None and now >= give_up:
                if self.deadline is not None and now >= self.deadline:
                    raise Timeout()
                raise Failure("error: timed out waiting for %s" % what)
            if self.next_ping is not None and now >= self.next_ping:
                self.h2.ping(os.urandom(8))
                self.queue_out()
                self.next_ping = now + self.opts.ping
            waits = [t for t in (give_up, self.next_ping) if t is not None]
            timeout = max(0.0, min(waits) - now) if waits else None
            for key, mask in self.sel.select(timeout):
                if key.data == "wake":
                    try:
                        os.read(self.wake_r, 4096)
                    except BlockingIOError:
                        pass
                    continue
                if mask & selectors.EVENT_WRITE:
                    self.write_some()
                if mask & selectors.EVENT_READ and not self.peer_closed:
                    self.read_some()

    # -- stdin --

    def start_stdin(self, channel):
        self.stdin_channel = channel
        self.stdin_pump = StdinPump(self.wake_w)
        self.stdin_pump.start()

    def feed_stdin(self):
        """Move stdin into DATA frames as far as the server's windows allow; END_STREAM after EOF."""
        if self.stdin_pump is None or self.stdin_done:
            return
        ch = self.stdin_channel
        if ch.reset or self.peer_closed:
            self.stdin_done = True
            return
        while not self.stdin_eof and len(self.stdin_pending) < MAX_STDIN_PENDING:
            try:
                data = self.stdin_pump.q.get_nowait()
            except queue.Empty:
                break
            if data:
                self.stdin_pending += data
            else:
                self.stdin_eof = True
        try:
            while self.stdin_pending and len(self.outbuf) < MAX_OUTBUF:
                room = min(self.h2.local_flow_control_window(ch.id), self.h2.max_outbound_frame_size)
                if room <= 0:
                    break  # a WINDOW_UPDATE will wake the loop through the socket
                chunk = bytes(self.stdin_pending[:room])
                self.h2.send_data(ch.id, chunk)
                del self.stdin_pending[:len(chunk)]
                self.queue_out()
            if self.stdin_eof and not self.stdin_pending:
                log(self.opts, "stdin EOF: END_STREAM on stream %d" % ch.id)
                self.h2.end_stream(ch.id)
                self.stdin_done = True
                self.queue_out()
        except h2.exceptions.StreamClosedError:
            self.stdin_done = True

    # -- exec --

    def request_headers(self, streamtype=None, offer=True):
        o = self.opts
        h = [(":method", o.method), (":scheme", o.parsed.scheme), (":authority", o.authority), (":path", o.path)]
        if streamtype:
            h.append(("streamtype", streamtype))
        if offer:
            h += [("x-stream-protocol-version", v) for v in o.offered]
        return h + o.extra_headers

    def open_channel(self, name, first):
        sid = self.h2.get_next_available_stream_id()
        ch = Channel(name, sid)
        self.channels[sid] = ch
        self.by_name[name] = ch
        self.h2.send_headers(sid, self.request_headers(name, offer=first))
        self.queue_out()
        self.loop_until(lambda: ch.status is not None or ch.ended, self.opts.stream_timeout,
                        "the answer to the %s stream" % name)
        self.check_answer(ch)
        return ch

    def check_answer(self, ch):
        if ch.status == "200":
            return
        if ch.status is None:
            raise Failure("error: %s stream: no answer (%s)" % (
                ch.name, "reset by server" if ch.reset else "connection closed"))
        self.report.setdefault("http_status", ch.status)
        # A refusal carries a Status body: read it (bounded) and show its message, as client-go does.
        self.loop_until(lambda: ch.ended, 5, "the refusal body")
        raise Failure("error: unable to start exec: HTTP %s: %s" % (ch.status, status_message(bytes(ch.body))))

    def run_channels(self, upgraded):
        o = self.opts
        if upgraded:
            session = self.channels[1]
            self.loop_until(lambda: session.status is not None or session.ended, o.stream_timeout,
                            "the answer to the upgrade request")
            self.check_answer(session)
            protocol = session.headers.get("x-stream-protocol-version", "")
        plan = ["error"]
        if o.stdin:
            plan.append("stdin")
        if o.stdout:
            plan.append("stdout")
        if o.stderr and not o.tty:
            plan.append("stderr")
        first = True
        for name in plan:
            ch = self.open_channel(name, first and not upgraded)
            if first and not upgraded:
                protocol = ch.headers.get("x-stream-protocol-version", "")
                self.report["http_status"] = ch.status
            first = False
            if name == "error":
                self.set_version(protocol)
        if o.tty and self.version >= 3:
            self.open_channel("resize", False)
        self.report["streams"] = str(len(plan) + (1 if "resize" in self.by_name else 0))

        if "resize" in self.by_name and o.resize:
            w, h = o.resize
            self.h2.send_data(self.by_name["resize"].id, b'{"Width":%d,"Height":%d}\n' % (w, h))
            self.queue_out()
        if "stdin" in self.by_name:
            self.start_stdin(self.by_name["stdin"])

        outputs = [self.by_name[n] for n in ("stdout", "stderr") if n in self.by_name]
        err = self.by_name["error"]
        self.loop_until(lambda: all(c.ended for c in outputs), what="the end of output")
        self.loop_until(lambda: err.ended, what="the status on the error stream")
        self.save_status(bytes(err.body))
        if err.body:
            return decode_status(bytes(err.body), self.version)
        if o.strict and self.version >= 4:
            return 1, "error: error stream ended without a status (a lost backend?)"
        return 0, None

    def save_status(self, raw):
        if self.opts.save_error_stream:
            with open(self.opts.save_error_stream, "wb") as f:
                f.write(raw)

    def set_version(self, protocol):
        if protocol not in VERSION_NUMBER:
            raise Failure("error: server chose unsupported protocol %r" % protocol)
        self.version = VERSION_NUMBER[protocol]
        self.report["protocol"] = protocol
        self.report["version"] = str(self.version)
        log(self.opts, "protocol %r (v%d)" % (protocol, self.version))

    def run_single(self, upgraded):
        o = self.opts
        if upgraded:
            ch = self.channels[1]
        else:
            sid = self.h2.get_next_available_stream_id()
            ch = Channel("session", sid)
            self.channels[sid] = ch
            self.h2.send_headers(sid, self.request_headers(offer=False), end_stream=not o.stdin)
            self.queue_out()
            if o.stdin:
                self.start_stdin(ch)
        self.loop_until(lambda: ch.status is not None or ch.ended, o.stream_timeout, "the answer")
        self.check_answer(ch)
        self.report.setdefault("http_status", ch.status)  # an h2c upgrade already recorded its 101
        self.loop_until(lambda: ch.ended, what="the end of the session")
        self.save_status(ch.trailers.get("exec-status", "").encode())
        if "exec-exit-code" in ch.trailers:
            text = ch.trailers["exec-exit-code"]
            if not text.isdigit() or int(text) > 255:
                return 1, "error: bad exec-exit-code trailer %r" % text
            code = int(text)
            return code, ("command terminated with exit code %d" % code if code else None)
        if "exec-status" in ch.trailers:
            return decode_status(ch.trailers["exec-status"].encode(), 4)
        return 1, "error: the session ended without exec-exit-code or exec-status trailers"

    def upgrade(self):
        """h2c: HTTP/1.1 request with Upgrade: h2c; returns the bytes read past the 101 head."""
        o = self.opts
        settings = self.h2.initiate_upgrade_connection().rstrip(b"=")
        body = b""
        if o.single_stream and o.stdin:
            body = sys.stdin.buffer.read(MAX_UPGRADE_BODY + 1)
            if len(body) > MAX_UPGRADE_BODY:
                raise Failure("error: single-stream over h2c sends stdin as the request body: at most %d bytes"
                              % MAX_UPGRADE_BODY)
        lines = ["%s %s HTTP/1.1" % (o.method, o.path), "Host: %s" % o.authority,
                 "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
                 "HTTP2-Settings: %s" % settings.decode("ascii"),
                 "User-Agent: h2-exec-client/1.0", "Content-Length: %d" % len(body)]
        if not o.single_stream:
            lines += ["X-Stream-Protocol-Version: %s" % v for v in o.offered]
        lines += ["%s: %s" % (k, v) for k, v in o.extra_headers]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure("error: connection closed before the upgrade answer")
            head += chunk
            if len(head) > MAX_UPGRADE_HEAD:
                raise Failure("error: upgrade answer head too large")
        head, rest = head.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        status = parts[1] if len(parts) > 1 else "?"
        headers = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                headers.setdefault(k.strip().lower(), []).append(v.strip())
        self.report["http_status"] = status
        if "x-accepted-stream-protocol-versions" in headers:
            self.report["accepted_versions"] = ",".join(headers["x-accepted-stream-protocol-versions"])
        if status != "101" or "h2c" not in ",".join(headers.get("upgrade", [])).lower():
            length = int(headers.get("content-length", ["0"])[0] or 0)
            body = rest
            self.sock.settimeout(5)
            try:
                while len(body) < min(length, 1 << 16):
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        break
                    body += chunk
            except OSError:
                pass
            raise Failure("error: unable to upgrade connection: %s" % status_message(body[:1 << 16]))
        log(self.opts, "upgraded to h2c")
        return rest

    def run(self):
        o = self.opts
        self.connect()
        upgraded = False
        leftover = b""
        if o.upgrade:
            leftover = self.upgrade()
            upgraded = True
            # Stream 1 is the upgrade request: its answer may already sit in the leftover bytes.
            self.channels[1] = Channel("session", 1)
        else:
            self.h2.initiate_connection()
        # Bigger receive windows than the 64 KiB default: output flows without a round trip per 64 KiB.
        settings = {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: RECEIVE_WINDOW}
        if o.max_frame_size:
            settings[h2.settings.SettingCodes.MAX_FRAME_SIZE] = o.max_frame_size
        self.h2.update_settings(settings)
        self.h2.increment_flow_control_window(RECEIVE_WINDOW)
        self.start_loop(leftover)
        if o.single_stream:
            return self.run_single(upgraded)
        return self.run_channels(upgraded)

    def close(self):
        if self.sock is None:
            return
        try:
            if self.registered:
                self.h2.close_connection()
                self.queue_out()
                self.sock.setblocking(True)
                self.sock.settimeout(1)
                if self.outbuf:
                    self.sock.sendall(self.outbuf)
        except (OSError, h2.exceptions.ProtocolError):
            pass
        self.sock.close()


def status_message(body):
    """A Status body's message, else the trimmed body (client-go's rendering of a refused upgrade)."""
    try:
        st = json.loads(body)
        if isinstance(st, dict) and st.get("kind") == "Status" and st.get("message"):
            return st["message"]
    except ValueError:
        pass
    return body.decode("utf-8", "replace").strip()


def write_report(path, values, code):
    if not path:
        return
    values = dict(values, exit=str(code))
    with open(path, "w") as f:
        for k in sorted(values):
            f.write("%s=%s\n" % (k, values[k]))


def main(argv):
    opts = parse_args(argv)
    client = Client(opts)
    code, message = 1, None
    try:
        code, message = client.run()
    except Failure as e:
        code, message = 1, str(e)
    except Timeout:
        code, message = 124, "h2-exec-client: timed out after %ss" % opts.timeout
        client.report["timeout"] = "1"
    except (OSError, h2.exceptions.H2Error) as e:
        code, message = 1, "error: %s" % e
    finally:
        client.close()
    if message:
        sys.stderr.write(message + "\n")
        if code not in (0,) and not message.startswith("command terminated"):
            client.report["error"] = json.dumps(message)
    write_report(opts.report, client.report, code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the stdin thread may still be blocked in read()


if __name__ == "__main__":
    main(sys.argv[1:])
