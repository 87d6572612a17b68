#!/usr/bin/env python3
"""The hostile clients of the battery (tests/hostile/battery.test.ts), one per subcommand.

Written in Python because its sockets do exactly what they are told: SO_LINGER 0 makes
close() send a reset at once, which Bun's own terminate() does not reproduce. Every attack is
bounded in count and time, talks only to the HOST:PORT it is given (a server the test
started), and prints one JSON line of what it saw.

  attack.py resets HOST PORT COUNT            connect, then close with a reset (SO_LINGER 0)
  attack.py cycles HOST PORT COUNT            connect, then close normally
  attack.py hold HOST PORT COUNT SECONDS      open COUNT connections and keep them silent for
                                              SECONDS; prints {"holding": n} once they are open
  attack.py drip HOST PORT COUNT SECONDS      COUNT connections that send one byte a second,
                                              never a newline; how many the server closed
  attack.py flood HOST PORT HEX SECONDS       send the request HEX again and again, never read
  attack.py lines HOST PORT [CASE]            a 1 MiB line, 10 MiB without a newline, binary
                                              garbage, a half-close after half a line (or
                                              only the case whose name starts with CASE)
"""
import json
import os
import select
import socket
import struct
import sys
import time

RESET = struct.pack("ii", 1, 0)


def connect(host, port, timeout=5.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def resets(host, port, count):
    done = refused = 0
    for _ in range(count):
        try:
            s = connect(host, port)
        except OSError:
            refused += 1
            continue
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
        s.close()
        done += 1
    return {"reset": done, "refused": refused}


def cycles(host, port, count):
    done = refused = 0
    for _ in range(count):
        try:
            s = connect(host, port)
        except OSError:
            refused += 1
            continue
        s.close()
        done += 1
    return {"cycles": done, "refused": refused}


def closed_by_peer(s):
    """True when the server has closed (or reset) this connection; reads and drops the rest."""
    # Not MSG_DONTWAIT alone: on a socket with a timeout Python waits that long, then raises
    # socket.timeout, an OSError, and an open connection would be counted as closed.
    s.setblocking(False)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def hold(host, port, count, seconds):
    sockets, refused = [], 0
    for _ in range(count):
        try:
            sockets.append(connect(host, port))
        except OSError:
            refused += 1
    print(json.dumps({"holding": len(sockets), "refused": refused}), flush=True)
    time.sleep(seconds)
    closed = sum(1 for s in sockets if closed_by_peer(s))
    for s in sockets:
        s.close()
    return {"held": len(sockets), "closed_by_server": closed, "refused": refused}


def drip(host, port, count, seconds):
    sockets, refused = [], 0
    for _ in range(count):
        try:
            s = connect(host, port)
            s.setblocking(False)
            sockets.append(s)
        except OSError:
            refused += 1
    print(json.dumps({"dripping": len(sockets)}), flush=True)
    start = time.monotonic()
    open_ = set(sockets)
    closed_after = []
    while time.monotonic() - start < seconds and open_:
        for s in list(open_):
            if closed_by_peer(s):
                open_.discard(s)
                closed_after.append(time.monotonic() - start)
                continue
            try:
                s.send(b"x")
            except OSError:
                open_.discard(s)
                closed_after.append(time.monotonic() - start)
        time.sleep(1.0)
    for s in sockets:
        s.close()
    return {
        "dripped": len(sockets),
        "closed_by_server": len(closed_after),
        "last_closed_after_s": round(max(closed_after), 2) if closed_after else None,
        "refused": refused,
    }


def flood(host, port, request, seconds):
    s = connect(host, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    block = request * max(1, 65536 // max(1, len(request)))
    sent = 0
    start = time.monotonic()
    last_progress = start
    while time.monotonic() - start < seconds:
        try:
            sent += s.send(block)
            last_progress = time.monotonic()
        except BlockingIOError:
            # The server stopped reading us: that is the backpressure we hope for.
            if time.monotonic() - last_progress > 1.0:
                break
            select.select([], [s], [], 0.1)
        except OSError:
            break
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
    s.close()
    return {"sent_bytes": sent, "seconds": round(time.monotonic() - start, 2)}


def read_some(s, limit=1 << 20, seconds=3.0, quiet=1.0):
    """What the server says back (at most `limit` bytes), and whether it closed.

    Reads for `seconds` at most, and stops sooner after `quiet` seconds without a byte: on
    loopback a server that has more to say says it at once.
    """
    s.settimeout(0.2)
    got = b""
    deadline = time.monotonic() + seconds
    last = time.monotonic()
    while time.monotonic() < deadline and len(got) < limit:
        try:
            data = s.recv(65536)
        except socket.timeout:
            if time.monotonic() - last > quiet:
                break
            continue
        except OSError:
            return got, True
        if not data:
            return got, True
        got += data
        last = time.monotonic()
    return got, False


# 16 KiB of every byte but the newline, NUL and invalid UTF-8 among them, as one line.
GARBAGE = bytes(b for b in range(256) if b != 10) * 64 + b"\x00\xff\xfe\xc3\x28\n"


def lines(host, port, only=""):
    report = {}
    cases = {
        "1 MiB line": b"a" * (1 << 20) + b"\n",
        "10 MiB without a newline": b"b" * (10 << 20),
        "binary garbage": GARBAGE,
        "half a line, then half-close": b"half a li",
    }
    for name, payload in cases.items():
        if not name.startswith(only):
            continue
        try:
            s = connect(host, port)
        except OSError as error:
            report[name] = {"error": str(error)}
            continue
        s.setblocking(True)
        # A server that stops reading us stops the sending here after 2 s: that is allowed.
        s.settimeout(2.0)
        sent = 0
        try:
            view = memoryview(payload)
            while sent < len(payload):
                sent += s.send(view[sent : sent + 65536])
        except OSError:
            pass
        if name.startswith("half"):
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        reply, closed = read_some(s)
        report[name] = {
            "sent": sent,
            "reply_bytes": len(reply),
            "first_line": reply.split(b"\n", 1)[0][:120].decode("utf-8", "replace"),
            "server_closed": closed,
        }
        s.close()
    return report


def main():
    what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rest = sys.argv[4:]
    if what == "resets":
        result = resets(host, port, int(rest[0]))
    elif what == "cycles":
        result = cycles(host, port, int(rest[0]))
    elif what == "hold":
        result = hold(host, port, int(rest[0]), float(rest[1]))
    elif what == "drip":
        result = drip(host, port, int(rest[0]), float(rest[1]))
    elif what == "flood":
        result = flood(host, port, bytes.fromhex(rest[0]), float(rest[1]))
    elif what == "lines":
        result = lines(host, port, rest[0] if rest else "")
    else:
        raise SystemExit(f"unknown attack {what}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
