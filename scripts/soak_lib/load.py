"""Verified sessions: every byte and exit code checked."""
import asyncio
import hashlib
import os
import re
import time

from .gateway import GENERATIONS, client_argv


async def run_session(tools, gw, generation, command, data, digest, workdir, index, result, stdin_hold=None):
    """One verified session. Returns (exit code, output bytes) for fault checks."""
    hdr = os.path.join(workdir, f"hdr-{generation}-{index}")
    argv = ["cat"] if command == "cat" else ["sha256sum"]
    proc = await asyncio.create_subprocess_exec(*client_argv(tools, gw, generation, argv, hdr),
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    hasher = hashlib.sha256()
    received = 0
    tail = b""

    async def feed():
        try:
            view = memoryview(data)
            for off in range(0, len(view), 256 * 1024):
                proc.stdin.write(view[off:off + 256 * 1024])
                await proc.stdin.drain()
            proc.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass

    async def drain_out():
        nonlocal received, tail
        while True:
            chunk = await proc.stdout.read(256 * 1024)
            if not chunk:
                return
            received += len(chunk)
            if command == "cat":
                hasher.update(chunk)
            else:
                tail = (tail + chunk)[-200:]

    try:
        _, _, err = await asyncio.wait_for(asyncio.gather(feed(), drain_out(), proc.stderr.read()), timeout=600)
        rc = await asyncio.wait_for(proc.wait(), timeout=30)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        result.sessions += 1
        result.lost += len(data)
        result.fail(f"{generation} {command} #{index}: timed out")
        return None
    result.sessions += 1
    result.bytes += len(data) + received
    ok = rc == 0
    if generation == "h2-single":
        try:
            with open(hdr) as f:
                trailer = re.findall(r"(?im)^exec-exit-code:\s*(\d+)", f.read())
            ok = ok and trailer[-1:] == ["0"]
        except OSError:
            ok = False
    if command == "cat":
        if received != len(data) or hasher.hexdigest() != digest:
            result.lost += abs(len(data) - received) if received != len(data) else len(data)
            ok = False
    elif digest not in tail.decode(errors="replace"):
        result.lost += len(data)
        ok = False
    if not ok:
        result.fail(f"{generation} {command} #{index}: rc={rc} got {received} bytes: {err.decode(errors='replace')[-200:]}")
    return rc


async def load(tools, gw, n, megabytes, concurrency, workdir, result):
    data_sets = []
    for g in range(len(GENERATIONS)):
        blob = os.urandom(megabytes * 1024 * 1024)
        data_sets.append((blob, hashlib.sha256(blob).hexdigest()))
    gate = asyncio.Semaphore(concurrency)

    async def one(i):
        async with gate:
            generation = GENERATIONS[i % len(GENERATIONS)]
            data, digest = data_sets[i % len(GENERATIONS)]
            command = "cat" if (i // len(GENERATIONS)) % 2 == 0 else "sha256sum"
            await run_session(tools, gw, generation, command, data, digest, workdir, i, result)
            gw.sample_rss()

    await asyncio.gather(*(one(i) for i in range(n)))


async def wait_until(predicate, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


async def start_held(tools, gw, generation, argv):
    """A client whose stdin stays open (the session waits); stdout is read and discarded."""
    proc = await asyncio.create_subprocess_exec(*client_argv(tools, gw, generation, argv, os.devnull),
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    return proc


