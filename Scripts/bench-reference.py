#!/usr/bin/env python3
"""Reference figures for `mlp-bench --compare`, measured on the same machine in the same run.

numpy float32 matmul (OpenBLAS) GFLOP/s for each GEMM shape of the suite, and tf.keras (CPU) training and
prediction samples/s for the suite's workloads, with the same protocol as mlp-bench: the same layer sizes, batch
sizes, Adam, sparse categorical cross-entropy, one warm-up epoch, then two timed epochs (shuffle off, verbose 0);
prediction timed after a warm-up call. Prints one JSON object:
  {"gemm": {shape name: gflops},
   "train": {workload: {"samples_per_second": s, "predict_samples_per_second": p, "epoch_losses": [3 losses]}}}
Run with a python that has numpy and tensorflow-cpu (MLPKIT_KERAS_PYTHON); `--gemm-only` skips tf.keras.
"""
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

# Must match gemmShapes in Benchmarks/MLPBench/main.swift.
GEMM_SHAPES = [
    ("square 256", 256, 256, 256, False, False), ("square 512", 512, 512, 512, False, False),
    ("square 1024", 1024, 1024, 1024, False, False), ("square 2048", 2048, 2048, 2048, False, False),
    ("mnist fwd NN 128x784·784x512", 128, 512, 784, False, False),
    ("mnist dW TN 784x128·128x512", 784, 512, 128, True, False),
    ("mnist dX NT 128x512·512x784", 128, 784, 512, False, True),
    ("narrow N=10 128x256·256x10", 128, 10, 256, False, False),
]

# Must match Workload.all in Benchmarks/MLPBench/main.swift.
WORKLOADS = {
    "seed": dict(inputs=14, hidden=[25, 36, 47], classes=7, batch=32, samples=16_384),
    "mnist": dict(inputs=784, hidden=[512, 256], classes=10, batch=128, samples=8_192),
    "wide": dict(inputs=1024, hidden=[2048, 2048], classes=10, batch=256, samples=2_048),
}


def gemm_gflops(m, n, k, trans_a, trans_b):
    rng = np.random.default_rng(1)
    # Stored as the GEMM sees them; a transposed operand is a transposed view, which numpy hands to BLAS as a flag.
    a = rng.standard_normal((k, m) if trans_a else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
    a_op, b_op = (a.T if trans_a else a), (b.T if trans_b else b)
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(a_op, b_op, out=c)
    flops = 2.0 * m * n * k
    repeats = max(1, int(2e9 / flops))
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            np.matmul(a_op, b_op, out=c)
        times.append(time.perf_counter() - start)
    return flops * repeats / statistics.median(times) / 1e9


def keras_workload(spec):
    import tensorflow as tf
    keras = tf.keras
    rng = np.random.default_rng(11)
    # Same recipe as mlp-bench (its Philox stream is not reproduced here): normal inputs, labels from a random
    # linear teacher, so the loss can go down and the two loss curves can be compared.
    x = rng.standard_normal((spec["samples"], spec["inputs"]), dtype=np.float32)
    teacher = rng.standard_normal((spec["inputs"], spec["classes"]), dtype=np.float32)
    y = np.argmax(x @ teacher, axis=1).astype(np.int32)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((spec["inputs"],))]
                             + [keras.layers.Dense(u, activation="relu") for u in spec["hidden"]]
                             + [keras.layers.Dense(spec["classes"], activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    losses = model.fit(x, y, batch_size=spec["batch"], epochs=1, verbose=0, shuffle=False).history["loss"]
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=spec["batch"], epochs=2, verbose=0, shuffle=False)
    train = 2 * spec["samples"] / (time.perf_counter() - start)
    losses += history.history["loss"]
    model.predict(x[:1024], batch_size=spec["batch"], verbose=0)
    start = time.perf_counter()
    model.predict(x, batch_size=spec["batch"], verbose=0)
    predict = spec["samples"] / (time.perf_counter() - start)
    return {"samples_per_second": train, "predict_samples_per_second": predict, "epoch_losses": [float(v) for v in losses]}


def main():
    out = {"gemm": {name: gemm_gflops(m, n, k, ta, tb) for name, m, n, k, ta, tb in GEMM_SHAPES}, "train": {}}
    if "--gemm-only" not in sys.argv:
        for name, spec in WORKLOADS.items():
            out["train"][name] = keras_workload(spec)
    json.dump(out, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
