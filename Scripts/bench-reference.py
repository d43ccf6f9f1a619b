#!/usr/bin/env python3
"""Reference figures for `mlp-bench --compare`, measured on the same machine in the same run.

numpy float32 matmul (OpenBLAS) GFLOP/s for each GEMM shape of the suite, and tf.keras (CPU) training and
prediction samples/s for the suite's workloads, with the same protocol as mlp-bench: the same layer sizes, batch
sizes, Adam, sparse categorical cross-entropy, one warm-up epoch, then two timed epochs and more until a second
has passed (shuffle off, verbose 0); prediction: the median of the passes after a warm-up call, three or as many
as fill a second. Prints one JSON object:
  {"gemm": {shape name: gflops},
   "train": {workload: {"samples_per_second": s, "predict_samples_per_second": p, "epoch_losses": [3 losses]}}}
Run with a python that has numpy and tensorflow-cpu (MLPKIT_KERAS_PYTHON); `--gemm-only` skips tf.keras;
`--serve` answers one request per line instead (what `mlp-bench --compare` uses, alternating with its own runs).

numpy's OpenBLAS picks its kernels for this CPU at load time, unless `OPENBLAS_CORETYPE` (or `OPENBLAS_L2_SIZE`)
says otherwise: a machine whose environment sets `OPENBLAS_CORETYPE=Haswell` gets the AVX2 kernels on an AVX-512
CPU, half its best. Both are removed before numpy loads, so the anchor is OpenBLAS's best kernel for the CPU; the
kernel it used is named (threadpoolctl) in the output and on stderr, and the tables print it.
"""
import json
import math
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Before numpy loads OpenBLAS: its own choice of kernel for this CPU (see above).
for _variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_variable, None)
import numpy as np  # noqa: E402


def blas_description():
    """The BLAS numpy calls and the kernels it chose, e.g. "OpenBLAS 0.3.31 SkylakeX kernels, 2 threads
    (pthreads)"; says so when threadpoolctl is missing (`pip install threadpoolctl`)."""
    try:
        import threadpoolctl
    except ImportError:
        return "BLAS kernel unknown (pip install threadpoolctl to name it)"
    np.matmul(np.ones((2, 2), dtype=np.float32), np.ones((2, 2), dtype=np.float32))  # loaded and initialised
    for info in threadpoolctl.threadpool_info():
        if info.get("user_api") == "blas":
            name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(info.get("internal_api"),
                                                                             str(info.get("internal_api")))
            kernel = info.get("architecture")
            text = f"{name} {info.get('version', '?')}" + (f" {kernel} kernels" if kernel else "")
            text += f", {info.get('num_threads', '?')} threads"
            if info.get("threading_layer"):
                text += f" ({info['threading_layer']})"
            return text
    return "no BLAS found by threadpoolctl"

# The suite's GEMM shapes and workloads, and the timing protocol: the file mlp-bench reads.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "Benchmarks", "workloads.json"),
          encoding="utf-8") as _file:
    _BENCH = json.load(_file)
GEMM_SHAPES = [(s["name"], s["m"], s["n"], s["k"], s["trans_a"], s["trans_b"]) for s in _BENCH["gemm_shapes"]]
WORKLOADS = _BENCH["workloads"]
# Timed epochs after the warm-up (at least), and how long the timed epochs and the prediction passes fill at least.
TIMED_EPOCHS = _BENCH["protocol"]["timed_epochs"]
MINIMUM_SECONDS = _BENCH["protocol"]["minimum_seconds"]


_operands = {}


def gemm_block(m, n, k, trans_a, trans_b):
    """GFLOP/s of one timed block of about 2 GFLOP after a 0.1 s untimed lead-in (mlp-bench times its own block
    the same way, alternating)."""
    key = (m, n, k, trans_a, trans_b)
    if key not in _operands:
        rng = np.random.default_rng(1)
        # Stored as the GEMM sees them; a transposed operand is a transposed view, which numpy hands to BLAS as a
        # flag.
        a = rng.standard_normal((k, m) if trans_a else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
        a_op, b_op = (a.T if trans_a else a), (b.T if trans_b else b)
        c = np.empty((m, n), dtype=np.float32)
        np.matmul(a_op, b_op, out=c)  # warm-up
        _operands[key] = (a_op, b_op, c)
    a_op, b_op, c = _operands[key]
    flops = 2.0 * m * n * k
    repeats = max(1, int(2e9 / flops))
    lead_in = time.perf_counter()
    while time.perf_counter() - lead_in < 0.1:  # untimed: the threads are awake and the caches warm when timing starts
        np.matmul(a_op, b_op, out=c)
    start = time.perf_counter()
    for _ in range(repeats):
        np.matmul(a_op, b_op, out=c)
    return flops * repeats / (time.perf_counter() - start) / 1e9


def gemm_gflops(m, n, k, trans_a, trans_b):
    gemm_block(m, n, k, trans_a, trans_b)
    return statistics.median(gemm_block(m, n, k, trans_a, trans_b) for _ in range(5))


# Built models by workload name, so that paired rounds (mlp-bench --compare) time the same model again instead of
# building and tracing a new one each round.
MODELS = {}


def keras_workload(spec, name=None):
    """One round: the first call per workload builds the model and trains the warm-up epoch; every call then times
    TIMED_EPOCHS epochs (two) and the median of three prediction passes. epoch_losses are the first round's three
    epochs."""
    import tensorflow as tf
    keras = tf.keras
    if name is None or name not in MODELS:
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
        entry = {"model": model, "x": x, "y": y, "losses": losses, "first": True}
        if name is not None:
            MODELS[name] = entry
    else:
        entry = MODELS[name]
    model, x, y = entry["model"], entry["x"], entry["y"]
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=spec["batch"], epochs=TIMED_EPOCHS, verbose=0, shuffle=False)
    elapsed = time.perf_counter() - start
    epochs = TIMED_EPOCHS
    if elapsed < MINIMUM_SECONDS:  # as mlp-bench: more timed epochs until a second has passed
        more = math.ceil((MINIMUM_SECONDS - elapsed) / (elapsed / TIMED_EPOCHS))
        start = time.perf_counter()
        model.fit(x, y, batch_size=spec["batch"], epochs=more, verbose=0, shuffle=False)
        elapsed += time.perf_counter() - start
        epochs += more
    train = epochs * spec["samples"] / elapsed
    if entry["first"]:
        entry["losses"] = entry["losses"] + history.history["loss"]
        entry["first"] = False
        model.predict(x[:1024], batch_size=spec["batch"], verbose=0)
    times = []
    while len(times) < 3 or sum(times) < MINIMUM_SECONDS:  # the median of the passes, as mlp-bench
        start = time.perf_counter()
        model.predict(x, batch_size=spec["batch"], verbose=0)
        times.append(time.perf_counter() - start)
    predict = spec["samples"] / statistics.median(times)
    return {"samples_per_second": train, "predict_samples_per_second": predict,
            "epoch_losses": [float(v) for v in entry["losses"]]}


def serve():
    """`--serve`: one JSON request per stdin line, one JSON answer per stdout line, so mlp-bench can alternate
    its own measurements with these (noise on a shared machine then hits both sides alike):
      {"gemm": [m, n, k, trans_a, trans_b]} -> {"gflops": g}   (one timed block)
      {"train": "seed"|"mnist"|"wide"}       -> keras_workload's object (one round; the model is kept for the next)
      {"blas": 1}                            -> {"blas": blas_description()}
    """
    for line in sys.stdin:
        request = json.loads(line)
        if "blas" in request:
            print(json.dumps({"blas": blas_description()}), flush=True)
            continue
        if "gemm" in request:
            m, n, k, trans_a, trans_b = request["gemm"]
            answer = {"gflops": gemm_block(m, n, k, bool(trans_a), bool(trans_b))}
        else:
            answer = keras_workload(WORKLOADS[request["train"]], request["train"])
        # OpenBLAS's and TF's worker threads spin for a while after their last call (OpenBLAS: 2^28 cycles by
        # default) before they sleep; answering at once would let them steal cores from mlp-bench's next timing.
        time.sleep(0.3)
        print(json.dumps(answer, sort_keys=True), flush=True)


def main():
    if "--serve" in sys.argv:
        serve()
        return
    blas = blas_description()
    print(f"numpy matmul: {blas}", file=sys.stderr)
    out = {"blas": blas, "gemm": {name: gemm_gflops(m, n, k, ta, tb) for name, m, n, k, ta, tb in GEMM_SHAPES}, "train": {}}
    if "--gemm-only" not in sys.argv:
        for name, spec in WORKLOADS.items():
            out["train"][name] = keras_workload(spec)
    json.dump(out, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
