#!/usr/bin/env python3
"""PyTorch reference for MLPBench on the same machine: float32 GEMM rates and MLP training throughput for the
same shapes and workloads (Adam, sparse categorical cross-entropy, one epoch after a warm-up epoch, no shuffle).

TF32 is turned off so the GEMM and training figures are full float32, like MLPKit's. Uses CUDA when present,
else the CPU. Run by Scripts/gpu-check.sh; prints a table in the same units as MLPBench.
"""
import json
import os
import time
import torch

# The shapes and workloads of mlp-bench's gemm-table and train-table: the file mlp-bench reads.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "Benchmarks", "workloads.json"),
          encoding="utf-8") as bench_file:
    bench = json.load(bench_file)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
name = torch.cuda.get_device_name(0) if device.type == "cuda" else "CPU"
print(f"PyTorch {torch.__version__} on {name} (float32, TF32 off)")


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


print("GEMM C = A·B (float32), GFLOP/s")
for m, n, k in ((s["m"], s["n"], s["k"]) for s in bench["gemm_table"]):
    a = torch.rand(m, k, device=device) - 0.5
    b = torch.rand(k, n, device=device) - 0.5
    repeats = 3 if m >= 2048 else 10
    times = []
    for _ in range(4):
        sync()
        start = time.perf_counter()
        for _ in range(repeats):
            c = a @ b
        sync()
        times.append(time.perf_counter() - start)
    best = sorted(times[1:])[1]
    print(f"  {m:4d}×{k:<4d} · {k:4d}×{n:<4d}  {2 * m * n * k * repeats / best / 1e9:10.1f}")

print("Training throughput, samples/s")
workloads = [(w["name"], w["inputs"], w["hidden"], w["classes"], w["samples"], w["batch"]) for w in bench["train_table"]]
for label, inputs, hidden, classes, samples, batch in workloads:
    torch.manual_seed(1)
    x = torch.rand(samples, inputs, device=device)
    y = torch.randint(0, classes, (samples,), device=device)
    layers, width = [], inputs
    for units in hidden:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        width = units
    layers.append(torch.nn.Linear(width, classes))
    model = torch.nn.Sequential(*layers).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        total = torch.zeros((), device=device)
        for start in range(0, samples, batch):
            xb, yb = x[start:start + batch], y[start:start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.detach() * xb.shape[0]
        return (total / samples).item()  # one read per epoch, as MLPKit

    epoch()
    sync()
    start = time.perf_counter()
    epoch()
    sync()
    elapsed = time.perf_counter() - start
    print(f"  {label}:  torch {samples / elapsed:.0f}")
