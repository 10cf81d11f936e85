"""A client that reads one URL as fast as it can, run as its own process by the tests.

``python -m tests.e2e.read_flood PORT SOURCE_ADDRESS PATH CONNECTIONS`` keeps that many
keep-alive connections from ``SOURCE_ADDRESS`` (any of 127/8 works as a source on Linux), each
sending the next request as soon as the last answer is in, and reconnecting at once whenever
the server closes one, whatever it answered: the issue's reader, not a polite client. It runs
until stopped, then prints how many replies of each status it got, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter


async def reader(port: int, source: str, request: bytes, statuses: Counter[int]) -> None:
    while True:
        try:
            stream_in, stream_out = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
        except OSError:
            statuses[0] += 1
            await asyncio.sleep(0)
            continue
        try:
            while True:
                stream_out.write(request)
                head = await stream_in.readuntil(b"\r\n\r\n")
                statuses[int(head[9:12])] += 1
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await stream_in.readexactly(length)
                if b"connection: close" in head.lower():
                    break
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            stream_out.close()


async def main(port: int, source: str, path: str, connections: int) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    statuses: Counter[int] = Counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tasks = [
        asyncio.create_task(reader(port, source, request, statuses)) for _ in range(connections)
    ]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({str(k): v for k, v in statuses.items()}), flush=True)


if __name__ == "__main__":
    port, source, path, connections = sys.argv[1:5]
    asyncio.run(main(int(port), source, path, int(connections)))
