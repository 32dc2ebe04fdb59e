#!/usr/bin/env python3
"""Port-forward as the official Python client does it: `kubernetes.stream.portforward` on
`CoreV1Api.connect_get_namespaced_pod_portforward` (WebSocket, v4.channel.k8s.io, the 2-byte port
prefix on each channel), with the gateway as the API server.

    k8s_portforward.py --server http://127.0.0.1:PORT [--namespace NS] POD PORT PATH

Sends `GET PATH HTTP/1.0` through the forwarded port, reads the answer to its end (the server closes),
prints the sha256 of the body and, on standard error, what the port's error channel said. Exits 0 when
the answer was an HTTP 200 and the error channel said nothing, 3 when the error channel carried an error,
1 otherwise.
"""
import argparse
import hashlib
import sys

from kubernetes import client
from kubernetes.stream import portforward


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--namespace", default="default")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("pod")
    p.add_argument("port", type=int)
    p.add_argument("path")
    args = p.parse_args()

    config = client.Configuration()
    config.host = args.server
    api = client.CoreV1Api(client.ApiClient(config))
    pf = portforward(api.connect_get_namespaced_pod_portforward, args.pod, args.namespace, ports=str(args.port))
    sock = pf.socket(args.port)
    sock.settimeout(args.timeout)
    received = b""
    try:
        sock.sendall(b"GET " + args.path.encode() + b" HTTP/1.0\r\nHost: pod\r\n\r\n")
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except OSError as e:
        sys.stderr.write("socket: %s\n" % e)
    sock.close()
    error = pf.error(args.port)
    head, _, body = received.partition(b"\r\n\r\n")
    print(hashlib.sha256(body).hexdigest())
    if error:
        sys.stderr.write("error channel: %s\n" % error)
        return 3
    sys.stderr.write("status line: %s\n" % head.split(b"\r\n")[0].decode(errors="replace"))
    return 0 if head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200") else 1


if __name__ == "__main__":
    sys.exit(main())
