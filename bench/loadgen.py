"""HTTP load from a second process: `python -m bench.loadgen` (run by bench/cases.py and
bench/soak.py). Standard library only, so it measures the server, not a client framework.

Two modes, each printing one JSON line:

- fixed work (bench/cases.py): CONCURRENCY threads, each with one keep-alive connection, send
  REQUESTS requests in all, each a form-encoded POST (or a GET) to PATH; prints sent, ok,
  errors (non-2xx or failed), seconds, p50/p99 latency in ms, requests/s. With
  `--json-requests FILE` (bench/patrols.py) each request is its own JSON POST instead (a list
  of {path, headers, body}, sent in the list's order, each once);
- mixed load for a duration (`--plan FILE --duration S --rate R`, bench/soak.py): requests of
  several kinds (the plan: per kind a weight, a method, paths and optionally form bodies and
  headers) at a bounded rate — request i is due at start + i / R, in a fixed random order of
  kinds — from CONCURRENCY keep-alive connections, for S seconds. A request is sent when it
  is due, or as soon as a connection is free if none was (`late_ms` says how far the load fell
  behind its schedule: a saturated server shows there, not as a lower rate alone). Prints per
  kind: sent, errors, p50/p95/p99/max ms, a few error samples; and in all: requests/s,
  requests per 10-second window (a server that slows down over the run shows there).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
import urllib.parse


def _pct(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000, 2)


def _json_requests(path: str) -> list[tuple[str, bytes, dict]]:
    """[(path, JSON body, headers)] from a file of [{path, headers, body}]."""
    with open(path, encoding="utf-8") as handle:
        items = json.load(handle)
    return [
        (
            item["path"],
            json.dumps(item["body"]).encode(),
            {"Content-Type": "application/json", **item.get("headers", {})},
        )
        for item in items
    ]


def fixed(args: argparse.Namespace) -> dict:
    bodies = None
    requests = _json_requests(args.json_requests) if args.json_requests else None
    if requests is not None:
        args.requests = len(requests)
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
                if requests is not None:
                    path, body, headers = requests[index]
                    connection.request("POST", path, body=body, headers=headers)
                elif bodies is not None:
                    connection.request(
                        "POST",
                        args.path,
                        body=bodies[index % len(bodies)],
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                    )
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
    return {
        "sent": args.requests,
        "ok": len(latencies) - len(errors),
        "errors": len(errors),
        "error_samples": errors[:3],
        "seconds": round(seconds, 3),
        "p50_ms": _pct(ordered, 50),
        "p99_ms": _pct(ordered, 99),
        "rps": round(len(latencies) / seconds, 1) if seconds else None,
    }


def mixed(args: argparse.Namespace) -> dict:
    with open(args.plan, encoding="utf-8") as handle:
        plan = json.load(handle)
    names = list(plan)
    kinds = []
    for name in names:
        spec = plan[name]
        bodies = [urllib.parse.urlencode(b).encode() for b in spec.get("bodies", [])]
        headers = dict(spec.get("headers", {}))
        if bodies:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        kinds.append((spec.get("method", "GET"), spec["paths"], bodies, headers))
    total = int(args.duration * args.rate)
    # A fixed order of kinds for a given seed: two runs send the same requests.
    order = random.Random(args.seed).choices(
        range(len(names)), weights=[plan[n]["weight"] for n in names], k=total
    )
    counter = iter(range(total))
    lock = threading.Lock()
    latencies: list[list[float]] = [[] for _ in names]
    errors: list[list[str]] = [[] for _ in names]
    finished: list[float] = []  # completion times (s since start), for the windows
    late: list[float] = []
    began = time.perf_counter()

    sent = [0] * len(names)

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
        while True:
            with lock:
                index = next(counter, None)
                if index is None:
                    break
                kind = order[index]
                # Each kind walks through its own paths and bodies in turn.
                position = sent[kind]
                sent[kind] += 1
            due = began + index / args.rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            method, paths, bodies, headers = kinds[kind]
            start = time.perf_counter()
            lag = start - due
            try:
                connection.request(
                    method,
                    paths[position % len(paths)],
                    body=bodies[position % len(bodies)] if bodies else None,
                    headers=headers,
                )
                response = connection.getresponse()
                payload = response.read()
                end = time.perf_counter()
                with lock:
                    latencies[kind].append(end - start)
                    finished.append(end - began)
                    late.append(lag)
                    if not 200 <= response.status < 300:
                        errors[kind].append(f"{response.status}: {payload[:200]!r}")
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors[kind].append(repr(exc))
                    late.append(lag)
                connection.close()
                connection = http.client.HTTPConnection(
                    "127.0.0.1", args.port, timeout=args.timeout
                )
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    per_kind = {}
    for i, name in enumerate(names):
        ordered = sorted(latencies[i])
        per_kind[name] = {
            "sent": sent[i],
            "errors": len(errors[i]),
            "error_samples": errors[i][:3],
            "p50_ms": _pct(ordered, 50),
            "p95_ms": _pct(ordered, 95),
            "p99_ms": _pct(ordered, 99),
            "max_ms": _pct(ordered, 100),
        }
    windows = [0] * (int(seconds // 10) + 1)
    for moment in finished:
        windows[int(moment // 10)] += 1
    ordered_late = sorted(late)
    return {
        "duration_s": args.duration,
        "rate": args.rate,
        "concurrency": args.concurrency,
        "sent": total,
        "answered": len(finished),
        "errors": sum(len(e) for e in errors),
        "seconds": round(seconds, 3),
        "rps": round(len(finished) / seconds, 1) if seconds else None,
        "per_10s": [round(w / 10, 1) for w in windows],
        "late_p99_ms": _pct(ordered_late, 99),
        "late_max_ms": _pct(ordered_late, 100),
        "kinds": per_kind,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30)
    # Fixed work:
    parser.add_argument("--path", help="the one path of the fixed-work mode")
    parser.add_argument("--bodies", help="JSON file: a list of form dicts to POST (cycled)")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument(
        "--json-requests",
        help="JSON file: a list of {path, headers, body}, each POSTed once as JSON",
    )
    # Mixed load for a duration:
    parser.add_argument(
        "--plan",
        help="JSON file: {kind: {weight, method, paths, bodies, headers}}; runs the mixed mode",
    )
    parser.add_argument("--duration", type=float, default=120, help="seconds (mixed mode)")
    parser.add_argument("--rate", type=float, default=100, help="requests/s (mixed mode)")
    parser.add_argument("--seed", type=int, default=311)
    args = parser.parse_args()
    if args.plan:
        result = mixed(args)
    elif args.path or args.json_requests:
        result = fixed(args)
    else:
        parser.error("give --path or --json-requests (fixed work) or --plan (mixed load)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
