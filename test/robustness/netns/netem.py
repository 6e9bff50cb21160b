#!/usr/bin/env python3
"""
A userspace stand-in for `tc netem`, for kernels built without sch_netem.

It joins two network namespaces through a pair of persistent TUN devices
(created beforehand with `ip -n NS tuntap add dev NAME mode tun`) and
forwards every IP packet from one to the other after a fixed delay, dropping
a share of them, or all of them during a partition.

usage: netem.py NS_A TUN_A NS_B TUN_B
stdin, one command per line:  delay MS | loss PERCENT | partition on|off | stats
stdout: "ready" once both devices are attached, then one line per command.
"""
import ctypes
import fcntl
import heapq
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def attach(namespace, name):
    ns = os.open(f'/run/netns/{namespace}', os.O_RDONLY)
    try:
        if libc.setns(ns, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f'setns {namespace}: {os.strerror(err)}')
    finally:
        os.close(ns)
    tun = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return tun


def main():
    ns_a, tun_a, ns_b, tun_b = sys.argv[1:5]
    a = attach(ns_a, tun_a)
    b = attach(ns_b, tun_b)
    other = {a: b, b: a}
    delay = 0.0
    loss = 0.0
    partition = False
    queue = []
    seq = 0
    stats = {'forwarded': 0, 'lost': 0, 'partitioned': 0}
    stdin = sys.stdin.fileno()
    pending = b''
    print('ready', flush=True)

    while True:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        readable, _, _ = select.select([a, b, stdin], [], [], timeout)
        now = time.monotonic()

        for fd in readable:
            if fd == stdin:
                data = os.read(stdin, 4096)
                if not data:
                    return
                pending += data
                while b'\n' in pending:
                    line, pending = pending.split(b'\n', 1)
                    words = line.decode().split()
                    if not words:
                        continue
                    if words[0] == 'delay':
                        delay = float(words[1]) / 1000
                    elif words[0] == 'loss':
                        loss = float(words[1]) / 100
                    elif words[0] == 'partition':
                        partition = words[1] == 'on'
                    print(f'ok {" ".join(words)} {stats}', flush=True)
                continue

            while True:
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if partition:
                    stats['partitioned'] += 1
                    continue
                if random.random() < loss:
                    stats['lost'] += 1
                    continue
                seq += 1
                heapq.heappush(queue, (now + delay, seq, other[fd], packet))

        while queue and queue[0][0] <= time.monotonic():
            _, _, fd, packet = heapq.heappop(queue)
            try:
                os.write(fd, packet)
                stats['forwarded'] += 1
            except OSError:
                pass


if __name__ == '__main__':
    main()
