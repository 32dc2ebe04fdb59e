#!/usr/bin/env python3
"""kubectl exec over the WebSocket channel protocol, on the `websocket-client` package.

    ws_exec_client.py [options] URL      (http:// or ws:// URLs; the query carries command and flags)

Offers the subprotocols given (default v5.channel.k8s.io,v4.channel.k8s.io, as client-go >= 1.30),
copies its stdin to channel 0 in messages of at most 32 KiB and then, on v5, sends the close signal
[255, 0] (below v5 there is no stdin EOF: stdin stays open and the command must end by itself),
writes channel 1 to stdout and channel 2 to stderr, and decodes the error channel (3) as client-go
does: v4/v5 a JSON Status, earlier versions plain text. Exit status: the remote exit code (stderr
says "command terminated with exit code N", like kubectl); 1 for any other error; 124 on --timeout.

--report FILE writes key=value lines: http_status, protocol, body, error, exit, close_code.
--save-error-stream FILE keeps the raw bytes of channel 3 (the suite compares them byte for byte).
"""
import argparse
import base64
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

import websocket

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
CHUNK = 32 * 1024 - 1


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("--protocols", default="v5.channel.k8s.io,v4.channel.k8s.io",
                   help="Sec-WebSocket-Protocol offers, preferred first; empty string offers none")
    p.add_argument("--stdin", action="store_true", help="send stdin (default: from the URL query)")
    p.add_argument("--no-stdin-close", action="store_true", help="never send the v5 close signal")
    p.add_argument("--resize", help="WxH sent on channel 4 right after the upgrade (tty sessions)")
    p.add_argument("-H", dest="headers", action="append", default=[], help="extra request header 'Name: value'")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--report")
    p.add_argument("--save-error-stream")
    return p.parse_args()


def query_flags(url):
    """stdin/tty as the gateway reads them: kubelet style (input=1) or apiserver style (stdin=true)."""
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)

    def apiserver(name):
        return name in q and q[name][-1].lower() not in ("0", "false")

    def kubelet(name):
        return q.get(name, [""])[-1] == "1"

    return (kubelet("input") or apiserver("stdin")), (kubelet("tty") or apiserver("tty"))


class Session:
    def __init__(self, args):
        self.args = args
        self.report = {}
        self.error_bytes = b""
        self.protocol = ""
        self.base64 = False
        self.lock = threading.Lock()

    def frame(self, channel, payload):
        if self.base64:
            return websocket.ABNF.OPCODE_TEXT, chr(ord("0") + channel) + base64.b64encode(payload).decode("ascii")
        return websocket.ABNF.OPCODE_BINARY, bytes([channel]) + payload

    def send(self, channel, payload):
        opcode, data = self.frame(channel, payload)
        with self.lock:
            self.ws.send(data, opcode=opcode)

    def pump_stdin(self):
        try:
            fd = sys.stdin.fileno()
            while True:
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    break
                self.send(STDIN, chunk)
            if self.protocol == "v5.channel.k8s.io" and not self.args.no_stdin_close:
                with self.lock:
                    self.ws.send(bytes([CLOSE, STDIN]), opcode=websocket.ABNF.OPCODE_BINARY)
        except (OSError, websocket.WebSocketException):
            pass  # the session ended while stdin was still being sent

    def run(self):
        url = self.args.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        offers = [p for p in self.args.protocols.split(",") if p]
        want_stdin, tty = query_flags(url)
        want_stdin = want_stdin or self.args.stdin
        self.ws = websocket.WebSocket(skip_utf8_validation=False)
        try:
            self.ws.connect(url, subprotocols=offers or None, header=self.args.headers, timeout=self.args.timeout)
        except websocket.WebSocketBadStatusException as e:
            self.report["http_status"] = str(e.status_code)
            body = e.resp_body.decode("utf-8", "replace") if e.resp_body else ""
            self.report["body"] = body.replace("\n", " ")
            try:
                message = json.loads(body).get("message", body)
            except ValueError:
                message = body or str(e)
            return self.fail("unable to upgrade connection: %s" % message)
        self.report["http_status"] = "101"
        self.protocol = self.ws.getsubprotocol() or ""
        self.report["protocol"] = self.protocol
        self.base64 = "base64" in self.protocol
        if offers and not self.protocol:
            return self.fail("server chose no subprotocol")
        if self.args.resize and tty:
            w, h = self.args.resize.split("x")
            self.send(RESIZE, json.dumps({"Width": int(w), "Height": int(h)}).encode() + b"\n")
        if want_stdin:
            threading.Thread(target=self.pump_stdin, daemon=True).start()
        return self.read_until_close()

    def read_until_close(self):
        out, err = sys.stdout.buffer, sys.stderr.buffer
        while True:
            try:
                opcode, data = self.ws.recv_data(control_frame=False)
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                self.report["close_code"] = "none"
                break
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 0
                self.report["close_code"] = str(code)
                break
            if not data:
                continue
            if self.base64:
                text = data.decode("ascii") if isinstance(data, bytes) else data
                channel, payload = ord(text[0]) - ord("0"), base64.b64decode(text[1:])
            else:
                channel, payload = data[0], bytes(data[1:])
                if channel == CLOSE and self.protocol == "v5.channel.k8s.io":
                    continue  # the server closed one of its channels: the close frame ends all
            if channel == STDOUT:
                out.write(payload)
                out.flush()
            elif channel == STDERR:
                err.write(payload)
                err.flush()
            elif channel == ERROR:
                self.error_bytes += payload
        try:
            self.ws.close()
        except (websocket.WebSocketException, OSError):
            pass
        return self.finish()

    def finish(self):
        if self.args.save_error_stream:
            with open(self.args.save_error_stream, "wb") as f:
                f.write(self.error_bytes)
        if self.protocol in ("v4.channel.k8s.io", "v4.base64.channel.k8s.io", "v5.channel.k8s.io"):
            if not self.error_bytes:
                return self.fail("error stream ended without a Status")
            try:
                status = json.loads(self.error_bytes)
            except ValueError:
                return self.fail("unparseable Status: %r" % self.error_bytes[:200])
            if status.get("status") == "Success":
                return self.exit(0)
            if status.get("reason") == "NonZeroExitCode":
                for cause in status.get("details", {}).get("causes", []):
                    if cause.get("reason") == "ExitCode":
                        code = int(cause["message"])
                        sys.stderr.write("command terminated with exit code %d\n" % code)
                        return self.exit(code)
            return self.fail(status.get("message", "unknown failure"))
        if self.error_bytes:
            return self.fail("error executing remote command: %s" % self.error_bytes.decode("utf-8", "replace"))
        return self.exit(0)

    def fail(self, message):
        sys.stderr.write("error: %s\n" % message)
        self.report["error"] = message.replace("\n", " ")
        return self.exit(1)

    def exit(self, code):
        self.report["exit"] = str(code)
        if self.args.report:
            with open(self.args.report, "w") as f:
                for key, value in self.report.items():
                    f.write("%s=%s\n" % (key, value))
        return code


def main():
    args = parse_args()
    session = Session(args)
    # The whole run is bounded; a stuck peer ends as 124, like timeout(1).
    timer = threading.Timer(args.timeout, lambda: os._exit(124))
    timer.daemon = True
    timer.start()
    try:
        return session.run()
    except (socket.timeout, websocket.WebSocketTimeoutException):
        return 124


if __name__ == "__main__":
    sys.exit(main())
