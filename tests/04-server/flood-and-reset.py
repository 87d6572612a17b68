#!/usr/bin/env python3
"""Clients that send without reading until the server stops reading them, then reset.

  flood-and-reset.py HOST PORT ROUNDS CONNECTIONS

Each round opens CONNECTIONS connections at once, each with a tiny receive buffer; they send
lines for 0.3 s without reading (the server pauses them), then close with SO_LINGER 0, which
sends a reset. Bun reports no `close` for some paused sockets that are reset: a server that
pauses sockets itself leaks them. Prints one JSON line: how many connections were made.
"""
import json
import socket
import struct
import sys
import time

host, port, rounds, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
RESET = struct.pack("ii", 1, 0)
block = b"hello\n" * 20000
made = 0
for _ in range(rounds):
    sockets = []
    for _ in range(count):
        s = socket.create_connection((host, port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        sockets.append(s)
    start = time.monotonic()
    while time.monotonic() - start < 0.3:
        for s in sockets:
            try:
                s.send(block)
            except (BlockingIOError, OSError):
                pass
        time.sleep(0.01)
    for s in sockets:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
        s.close()
    made += len(sockets)
print(json.dumps({"connections": made}), flush=True)
