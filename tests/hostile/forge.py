#!/usr/bin/env python3
"""Sends one UDP datagram with a forged source address, through a raw socket (needs root).

  forge.py SRC_IP SRC_PORT DST_IP DST_PORT HEX_PAYLOAD

The battery runs it inside a private network namespace, where the only listeners are the
test's own servers: a datagram "from" a server's own address and port, or from another
server, is how a loop between UDP servers starts. IPv4 only; the kernel fills in the IP
checksum, we compute the UDP one.
"""
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def main():
    src, sport, dst, dport, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), bytes.fromhex(sys.argv[5])
    length = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_UDP, length)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    udp_checksum = checksum(pseudo + header + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, length, udp_checksum) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + length, 0x1234, 0, 64, socket.IPPROTO_UDP, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.sendto(ip + udp, (dst, 0))
    print("sent", flush=True)


if __name__ == "__main__":
    main()
