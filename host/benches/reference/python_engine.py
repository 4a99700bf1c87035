"""The original's engine per series: prometheus_client gauges updated and
rendered, the way the Python PromEmu exposes its hosts' metrics.

Usage: python3 python_engine.py SERIES ROUNDS
Prints one line: `update_ns=<ns per series> render_ns=<ns per series>`.
"""

import random
import sys
import time

from prometheus_client import CollectorRegistry, Gauge, generate_latest


def main() -> None:
    series = int(sys.argv[1])
    rounds = int(sys.argv[2])
    metrics_per_host = 10
    hosts = series // metrics_per_host
    registry = CollectorRegistry()
    labels = ["name", "host", "address"]
    gauges = [
        Gauge(f"metric_{m:03}", "a metric", labels, registry=registry)
        for m in range(metrics_per_host)
    ]
    children = []
    for h in range(hosts):
        name = f"node-{h:06}"
        values = (name, f"stress.{name}.test.stage", f"192.168.{h % 250}.{h % 200 + 1}")
        for gauge in gauges:
            children.append(gauge.labels(*values))
    update = 0.0
    render = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for child in children:
            child.set(random.uniform(0.0, 100.0))
        update += time.perf_counter() - started
        started = time.perf_counter()
        text = generate_latest(registry)
        render += time.perf_counter() - started
        assert len(text) > series
    count = len(children) * rounds
    print(f"update_ns={update * 1e9 / count:.1f} render_ns={render * 1e9 / count:.1f}")


if __name__ == "__main__":
    main()
