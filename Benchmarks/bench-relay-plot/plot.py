#!/usr/bin/env python3
"""Plots bench-relay's sweep: throughput and round-trip time against message size.

    swift run -c release bench-relay --sweep --json > /tmp/bench-relay.json
    python3 Benchmarks/bench-relay-plot/plot.py /tmp/bench-relay.json docs/bench-relay.png

Needs matplotlib (pip install matplotlib). Reads the "sweep" array of the JSON report:
one point per path (relay, relay-tls, direct, socat, python) and message size (DATA
body bytes).
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "relay": ("tab:red", "o", "relay-server"),
    "relay-tls": ("tab:purple", "v", "relay-server, TLS 1.3"),
    "direct": ("tab:gray", "s", "direct TCP"),
    "socat": ("tab:blue", "^", "socat -b 262144"),
    "python": ("tab:green", "D", "Python relay"),
}


def size_label(size):
    if size >= 1 << 20:
        return f"{size >> 20} MiB"
    if size >= 1 << 10:
        return f"{size >> 10} KiB"
    return f"{size} B"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    report = json.load(open(sys.argv[1]))
    points = report.get("sweep") or []
    if not points:
        sys.exit("no sweep in the report: run bench-relay with --sweep --json")
    sizes = sorted({p["stream"]["bodyBytes"] for p in points})

    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(12, 4.8))
    for path, (color, marker, label) in STYLE.items():
        mine = sorted((p for p in points if p["path"] == path), key=lambda p: p["stream"]["bodyBytes"])
        if not mine:
            continue
        x = [p["stream"]["bodyBytes"] for p in mine]
        mbps = [p["stream"]["frames"] * p["stream"]["bodyBytes"] / p["stream"]["seconds"] / 1e6 for p in mine]
        p50 = [p["roundTrip"]["p50"] for p in mine]
        throughput.plot(x, mbps, color=color, marker=marker, label=label)
        latency.plot(x, p50, color=color, marker=marker, label=label)

    for axes in (throughput, latency):
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xticks(sizes)
        axes.set_xticklabels([size_label(s) for s in sizes], rotation=45)
        axes.set_xlabel("message size (DATA body)")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    throughput.set_ylabel("MB/s at the receiver (one way, pipelined)")
    throughput.set_title("Throughput")
    latency.set_ylabel("round trip p50, µs (A → B → A)")
    latency.set_title("Round-trip time")
    machine = report.get("machine", {})
    figure.suptitle(f"bench-relay on 127.0.0.1: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores")
    figure.tight_layout()
    figure.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
