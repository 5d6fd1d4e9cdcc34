"""A bounded HTTP load from a second process: `python -m bench.loadgen` (run by bench/cases.py).

CONCURRENCY threads, each with one keep-alive connection, send REQUESTS requests in all (a
fixed amount of work, not a duration), each a form-encoded POST (or a GET) to PATH; prints one
JSON line: sent, ok, errors (non-2xx or failed), seconds, p50/p99 latency in ms, requests/s.
Standard library only, so it measures the server, not a client framework.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
import urllib.parse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--bodies", help="JSON file: a list of form dicts to POST (cycled)")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    bodies = None
    if args.bodies:
        with open(args.bodies, encoding="utf-8") as handle:
            bodies = [urllib.parse.urlencode(b).encode() for b in json.load(handle)]
    counter = iter(range(args.requests))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            start = time.perf_counter()
            try:
                if bodies is not None:
                    connection.request("POST", args.path, body=bodies[index % len(bodies)],
                                       headers={"Content-Type":
                                                "application/x-www-form-urlencoded"})
                else:
                    connection.request("GET", args.path)
                response = connection.getresponse()
                payload = response.read()
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if not 200 <= response.status < 300:
                        errors.append(f"{response.status}: {payload[:200]!r}")
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(repr(exc))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000, 2)

    print(json.dumps({
        "sent": args.requests, "ok": len(latencies) - len(errors), "errors": len(errors),
        "error_samples": errors[:3], "seconds": round(seconds, 3),
        "p50_ms": pct(50) if ordered else None, "p99_ms": pct(99) if ordered else None,
        "rps": round(len(latencies) / seconds, 1) if seconds else None,
    }))


if __name__ == "__main__":
    main()
