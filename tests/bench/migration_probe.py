#!/usr/bin/env python3
"""Client-visible write pause during a slot migration, over RESP.

Writes SET key value in a loop to keys of the given slot range, one at a
time, as a Redis Cluster client does: follows -MOVED (and updates its slot
map), -ASK (ASKING + retry at the given node, Redis' key-by-key migration),
retries -TRYAGAIN and -CLUSTERDOWN after 1 ms. Runs until the file named by
--stop exists, then prints one JSON line: writes acknowledged, the longest
time between two acknowledged writes (the pause a client sees), redirects
and retries seen, and any other error.

Usage: migration_probe.py --seed HOST:PORT --slots FIRST-LAST --stop FILE
"""
import argparse
import json
import os
import socket
import sys
import time


def crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key: bytes) -> int:
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc16(key) % 16384


class Conn:
    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.read()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"-":
            return Error(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            return [self.read() for _ in range(int(rest))]
        raise ValueError("bad reply %r" % line)


class Error(str):
    pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", required=True)
    p.add_argument("--slots", required=True)
    p.add_argument("--stop", required=True)
    p.add_argument("--keys", type=int, default=64)
    args = p.parse_args()
    first, last = map(int, args.slots.split("-"))
    keys = []
    n = 0
    while len(keys) < args.keys:
        k = b"probe:%d" % n
        n += 1
        if first <= key_slot(k) <= last:
            keys.append(k)
    conns = {}

    def conn(address):
        if address not in conns:
            conns[address] = Conn(address)
        return conns[address]

    owner = {}  # slot -> address
    stats = {"acked": 0, "moved": 0, "ask": 0, "tryagain": 0,
             "clusterdown": 0, "other_errors": 0, "first_error": ""}
    longest = 0.0
    last_ack = time.monotonic()
    i = 0
    while not os.path.exists(args.stop):
        key = keys[i % len(keys)]
        i += 1
        address = owner.get(key_slot(key), args.seed)
        asking = False
        while True:
            try:
                c = conn(address)
                if asking:
                    c.call("ASKING")
                reply = c.call("SET", key, b"v%d" % i)
            except (OSError, ConnectionError) as e:
                conns.pop(address, None)
                stats["other_errors"] += 1
                stats["first_error"] = stats["first_error"] or str(e)
                address = args.seed
                time.sleep(0.001)
                continue
            if isinstance(reply, Error):
                word = reply.split(" ", 1)[0]
                if word == "MOVED":
                    _, slot, target = reply.split()
                    owner[int(slot)] = target
                    address, asking = target, False
                    stats["moved"] += 1
                    continue
                if word == "ASK":
                    _, _, target = reply.split()
                    address, asking = target, True
                    stats["ask"] += 1
                    continue
                if word in ("TRYAGAIN", "CLUSTERDOWN"):
                    stats[word.lower()] += 1
                    time.sleep(0.001)
                    continue
                stats["other_errors"] += 1
                stats["first_error"] = stats["first_error"] or reply
                time.sleep(0.001)
                continue
            break
        now = time.monotonic()
        longest = max(longest, now - last_ack)
        last_ack = now
        stats["acked"] += 1
    stats["longest_pause_ms"] = round(longest * 1000, 1)
    print(json.dumps(stats))


if __name__ == "__main__":
    sys.exit(main())
