#!/usr/bin/env python3
"""The scaling cost model of Distributed.md ("Scaling beyond one machine"), from `mlp-bench scale --json` figures.

    python3 Scripts/scaling-model.py [Benchmarks/scale-measured.json]

Per workload: compute per step from the 1-rank runs, allreduce bytes per step from the 2-rank run, a ring
allreduce 2(N-1)/N * bytes / bandwidth + 2(N-1) * latency, no overlap of the allreduce with the backward pass
(MLPKit sums all gradients in one fused allreduce after the backward pass). Prints the N = 2 check on this
machine's transport, the projected efficiencies on two networks and the per-rank batch below which the
efficiency drops under 50%.
"""
import json
import sys

NODES = [2, 4, 8, 16, 32, 64]
# Effective bandwidth (bytes/s) and per-message latency (s): the middle of the ranges Distributed.md states.
NETWORKS = {"25 GbE": (2.75e9, 35e-6), "100 Gb InfiniBand": (11.5e9, 3.5e-6)}


def ring(nodes, size, bandwidth, latency):
    """Seconds of a ring allreduce of `size` bytes over `nodes` ranks."""
    return 2 * (nodes - 1) / nodes * size / bandwidth + 2 * (nodes - 1) * latency


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "Benchmarks/scale-measured.json"
    runs = json.load(open(path))["runs"]
    workloads = []
    for name in dict.fromkeys(r["workload"] for r in runs):
        mine = {(r["ranks"], r["threads_per_rank"]): r for r in runs if r["workload"] == name}
        workloads.append((name, mine))

    print("N = 2 on this machine (shared memory): transport fitted from the 1-float and 16 MB probes")
    print(f"  {'workload':8}  {'bytes/step':>10}  {'allreduce ms pred':>17}  {'measured':>8}  {'2x1 steps/s pred':>16}  {'measured':>8}")
    for name, mine in workloads:
        one, two = mine[(1, 1)], mine[(2, 1)]
        latency = two["probe_small_seconds"] / 2          # 2(N-1) = 2 messages
        bandwidth = two["probe_large_bytes"] / max(two["probe_large_seconds"] - 2 * latency, 1e-9)
        size = two["allreduce_bytes_per_step"]
        predicted = ring(2, size, bandwidth, latency)
        compute = 1 / one["steps_per_second"] / 2          # each rank computes half the global batch
        print(f"  {name:8}  {size:10.0f}  {predicted * 1e3:17.3f}  {two['allreduce_seconds_per_step'] * 1e3:8.3f}"
              f"  {1 / (compute + predicted):16.1f}  {two['steps_per_second']:8.1f}")
    print()
    for network, (bandwidth, latency) in NETWORKS.items():
        print(f"{network} ({bandwidth / 1e9:.2f} GB/s, {latency * 1e6:.1f} us): efficiency at the workload's batch per rank"
              " (weak scaling), and the per-rank batch below which it is under 50%")
        print(f"  {'workload':8}  {'batch':>5}  {'compute ms':>10}  " + "  ".join(f"{'N=' + str(n):>6}" for n in NODES)
              + "  " + "  ".join(f"{'b50@' + str(n):>7}" for n in (2, 8, 64)))
        for name, mine in workloads:
            best = max(mine[(1, 1)]["steps_per_second"], mine[(1, 2)]["steps_per_second"])
            batch = mine[(1, 1)]["global_batch"]
            compute = 1 / best                             # one node = this machine's best single rank
            size = mine[(2, 1)]["allreduce_bytes_per_step"]
            efficiency = [compute / (compute + ring(n, size, bandwidth, latency)) for n in NODES]
            # compute(b) = compute * b / batch equals the allreduce time at 50% efficiency.
            break_even = [ring(n, size, bandwidth, latency) * batch / compute for n in (2, 8, 64)]
            print(f"  {name:8}  {batch:5d}  {compute * 1e3:10.3f}  " + "  ".join(f"{e * 100:5.1f}%" for e in efficiency)
                  + "  " + "  ".join(f"{b:7.0f}" for b in break_even))
        print()


if __name__ == "__main__":
    main()
