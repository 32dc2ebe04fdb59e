#!/usr/bin/env python3
"""kubectl exec as the official Python client does it: `kubernetes.stream.stream` on
`CoreV1Api.connect_get_namespaced_pod_exec`, with the gateway as the API server.

    k8s_exec.py --server http://127.0.0.1:PORT [--namespace NS] [--container C] [--stdin] [--stderr]
                [--tty] [--close-stdin] POD -- COMMAND...

The client offers v5.channel.k8s.io and v4.channel.k8s.io, opens the apiserver-form exec URL over
WebSocket, and reads stdout, stderr and the error channel; with --stdin it writes its own stdin to the
session and, with --close-stdin, ends it by the v5 close signal (`close_channel(0)`). The exit code comes
from `resp.returncode` (the Status on channel 3) after `update()` ran to the server's close. It exits
with that code; stdout and stderr are copied; 1 on any other failure.

--report FILE writes key=value lines: protocol, returncode, error.
"""
import argparse
import sys

from kubernetes import client
from kubernetes.stream import stream


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--namespace", default="default")
    p.add_argument("--container")
    p.add_argument("--stdin", action="store_true")
    p.add_argument("--stderr", action="store_true")
    p.add_argument("--tty", action="store_true")
    p.add_argument("--close-stdin", action="store_true", help="send the v5 close signal after stdin")
    p.add_argument("--timeout", type=float, default=50)
    p.add_argument("--report")
    p.add_argument("pod")
    p.add_argument("command", nargs="+")
    return p.parse_args()


def main():
    args = parse_args()
    report = {}

    def done(code, error=None):
        report["returncode"] = str(code)
        if error:
            report["error"] = error.replace("\n", " ")
            sys.stderr.write("error: %s\n" % error)
        if args.report:
            with open(args.report, "w") as f:
                for key, value in report.items():
                    f.write("%s=%s\n" % (key, value))
        return code

    configuration = client.Configuration()
    configuration.host = args.server
    api = client.CoreV1Api(client.ApiClient(configuration))
    kwargs = dict(command=args.command, stdin=args.stdin, stdout=True, stderr=args.stderr, tty=args.tty,
                  _preload_content=False)
    if args.container:
        kwargs["container"] = args.container
    try:
        resp = stream(api.connect_get_namespaced_pod_exec, args.pod, args.namespace, binary=True, **kwargs)
    except Exception as e:  # the client wraps every failure in ApiException(status=0)
        return done(1, "exec failed: %s" % e)
    report["protocol"] = resp.subprotocol or ""
    if args.stdin:
        data = sys.stdin.buffer.read()
        if data:
            resp.write_stdin(data)
        if args.close_stdin:
            resp.close_channel(0)
    out, err = sys.stdout.buffer, sys.stderr.buffer
    import time
    deadline = time.time() + args.timeout
    while resp.is_open() and time.time() < deadline:
        resp.update(timeout=1)
        if resp.peek_stdout():
            out.write(resp.read_stdout())
        if resp.peek_stderr():
            err.write(resp.read_stderr())
    out.write(resp.read_stdout() or b"")
    err.write(resp.read_stderr() or b"")
    out.flush()
    err.flush()
    if resp.is_open():
        return done(124, "session still open after %s s" % args.timeout)
    try:
        code = resp.returncode
    except Exception as e:
        return done(1, "no usable status on the error channel: %s" % e)
    return done(code)


if __name__ == "__main__":
    sys.exit(main())
