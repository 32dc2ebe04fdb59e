"""Faults injected while sessions run; each checks the clear failure it must cause."""
import asyncio
import os
import signal
import socket
import time

from .gateway import GENERATIONS, Gateway, client_argv
from .load import load, start_held, wait_until


async def fault_client_kill(tools, gw, k, result):
    procs = [await start_held(tools, gw, GENERATIONS[i % 4] if GENERATIONS[i % 4] != "h2-single" else "h2",
                              ["sleep", "300"]) for i in range(k)]
    if not await wait_until(lambda: len(gw.children()) >= k, 20):
        result.fail(f"client-kill: only {len(gw.children())} of {k} commands started")
    for p in procs:
        p.kill()
        await asyncio.wait_for(p.communicate(), 30)
    result.sessions += k
    result.expected_failures += k
    if not await wait_until(lambda: not gw.children(), 30):
        result.fail(f"client-kill: {len(gw.children())} commands still run 30 s after their clients were killed")


async def fault_child_kill(tools, gw, k, result):
    procs = [await start_held(tools, gw, ["spdy", "h2", "ws"][i % 3], ["sleep", "300"]) for i in range(k)]
    if not await wait_until(lambda: len(gw.children()) >= k, 20):
        result.fail(f"child-kill: only {len(gw.children())} of {k} commands started")
    for pid in gw.children():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    result.sessions += k
    result.expected_failures += k
    for i, p in enumerate(procs):
        try:
            _, err = await asyncio.wait_for(p.communicate(), 30)
            rc = p.returncode
        except asyncio.TimeoutError:
            p.kill()
            rc, err = None, b""
        if rc != 137:
            err = err.decode(errors="replace")[-200:]
            result.fail(f"child-kill #{i}: client exit {rc}, want 137 (signal: killed): {err}")


async def fault_stalled_reader(tools, gw, k, stall, result):
    procs = []
    for i in range(k):
        argv = client_argv(tools, gw, "spdy", ["head", "-c", "1000000000", "/dev/zero"], os.devnull)
        # Nobody reads the client's stdout: the pipe fills, the client stops reading its socket.
        procs.append(await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                          stdout=asyncio.subprocess.PIPE,
                                                          stderr=asyncio.subprocess.DEVNULL))
    before = gw.log_text().count("session stalled")
    stalled = await wait_until(lambda: gw.log_text().count("session stalled") - before >= k, stall * 4 + 30, 0.5)
    result.sessions += k
    result.expected_failures += k
    if not stalled:
        result.fail(f"stalled-reader: {gw.log_text().count('session stalled') - before} of {k} sessions ended as stalled")
    if not await wait_until(lambda: not gw.children(), 30):
        result.fail("stalled-reader: commands still run after the stall timeout")
    for p in procs:
        p.kill()
        # Read to the end: an unread pipe would keep wait() from ever returning.
        await asyncio.wait_for(p.communicate(), 30)


async def fault_upstream_kill(tools, front, upstream, k, result):
    procs = [await start_held(tools, front, ["spdy", "h2", "ws"][i % 3], ["cat"]) for i in range(k)]
    for p in procs:
        p.stdin.write(b"x" * 65536)
    if not await wait_until(lambda: len(upstream.children()) >= k, 20):
        result.fail(f"upstream-kill: only {len(upstream.children())} of {k} commands started upstream")
    upstream.kill()
    result.sessions += k
    result.expected_failures += k
    for i, p in enumerate(procs):
        try:
            _, err = await asyncio.wait_for(p.communicate(), 30)
            rc = p.returncode
        except asyncio.TimeoutError:
            p.kill()
            rc, err = None, b""
        err = err.decode(errors="replace")
        # The Go client prints the gateway's Status ("lost connection to backend"); `execbridge exec`
        # words the same Status from its side ("lost connection to server").
        if rc in (0, None) or "lost connection" not in err:
            result.fail(f"upstream-kill #{i}: exit {rc}, stderr {err[-200:]!r}")


async def fault_slowloris(tools, gw, count, megabytes, workdir, result):
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
        socks.append(s)
    # While they hang, the gateway still serves: /healthz and verified sessions.
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as h:
        h.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        if not h.recv(100).startswith(b"HTTP/1.1 200"):
            result.fail("slowloris: /healthz not answered while the connections hang")
    await load(tools, gw, 8, megabytes, 8, workdir, result)
    # The head timeout closes every one of them.
    closed = 0
    deadline = time.monotonic() + 40
    for s in socks:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            while s.recv(4096):
                pass
            closed += 1
        except OSError:
            pass
        s.close()
    result.expected_failures += count
    if closed != count:
        result.fail(f"slowloris: {count - closed} of {count} half-sent heads still open after the head timeout")


async def fault_fd_limit(tools, workdir, megabytes, result):
    gw = Gateway(tools.gateway, workdir, "fdlimit", ["--threads", "2"], nofile=128)
    try:
        socks = [socket.create_connection(("127.0.0.1", gw.port), timeout=5) for _ in range(400)]
        reached = await wait_until(lambda: "out of file descriptors" in gw.log_text(), 10)
        before, t0 = gw.cpu_seconds(), time.monotonic()
        await asyncio.sleep(2)
        ratio = (gw.cpu_seconds() - before) / (time.monotonic() - t0)
        for s in socks:
            s.close()
        result.expected_failures += 1
        if not reached:
            result.fail("fd-limit: the gateway never reported the descriptor limit")
        if ratio > 0.5:
            result.fail(f"fd-limit: {ratio:.0%} of a core at the descriptor limit (a busy loop)")

        def healthy():
            try:
                with socket.create_connection(("127.0.0.1", gw.port), timeout=2) as h:
                    h.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
                    return h.recv(100).startswith(b"HTTP/1.1 200")
            except OSError:
                return False
        if not await wait_until(healthy, 30, 0.2):
            result.fail("fd-limit: /healthz not answered after descriptors were freed")
        await load(tools, gw, 8, megabytes, 4, workdir, result)
        lines = gw.log_text().count("\n")
        if lines > 50:
            result.fail(f"fd-limit: {lines} log lines (a flood)")
        result.notes.append(f"{ratio:.0%} CPU at the limit, {lines} log lines")
    finally:
        gw.stop()
    return gw.peak_rss_kb


