#!/usr/bin/env bash
# The C reference for `mlp-bench peak`: the same register-only multiply-add loop, written in C with the widest
# vectors `cc -O3 -march=native` gives (16 float lanes with AVX-512, 8 with AVX2, 4 otherwise), sixteen
# independent chains per thread, on THREADS threads (default: every CPU), the fastest of five runs. Prints one
# line: lanes, threads, GFLOP/s. `mlp-bench peak` should come within 10% of it on the same machine.
# Usage: Scripts/peak-reference.sh [THREADS]
set -euo pipefail
threads="${1:-$(nproc)}"
if ! [[ "$threads" =~ ^[1-9][0-9]*$ ]]; then
    echo "peak-reference.sh: THREADS must be a positive whole number, got '$threads'" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/peak.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__AVX512F__)
enum { LANES = 16 };
#elif defined(__AVX2__)
enum { LANES = 8 };
#else
enum { LANES = 4 };
#endif
typedef float vec __attribute__((vector_size(LANES * 4)));
static const long ITERATIONS = 20000000;
static float sink[256];

/* Sixteen named accumulators (an array would live in memory); the empty asm keeps each in a register and every
   step done, so the compiler cannot fold the loop. */
#define CHAIN_LIST(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define DECLARE(i) vec a##i = one;
#define STEP(i) a##i = a##i * x + y; /* one FMA (-ffp-contract=fast) */
#define SUM(i) s += a##i;
static void *run(void *arg) {
    long id = (long)arg;
    vec x, y, one;
    for (int l = 0; l < LANES; l++) { x[l] = 0.999999f; y[l] = 1e-7f; one[l] = 1.0f; }
    CHAIN_LIST(DECLARE)
    for (long i = 0; i < ITERATIONS; i++) {
        CHAIN_LIST(STEP)
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7));
        __asm__ volatile("" : "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11), "+v"(a12), "+v"(a13), "+v"(a14), "+v"(a15));
    }
    vec s = x - x;
    CHAIN_LIST(SUM)
    float t = 0;
    for (int l = 0; l < LANES; l++) t += s[l];
    sink[id % 256] = t;
    return NULL;
}

int main(int argc, char **argv) {
    int threads = atoi(argv[1]);
    double best = 0;
    for (int round = 0; round < 5; round++) {
        pthread_t tid[threads];
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long t = 0; t < threads; t++) pthread_create(&tid[t], NULL, run, (void *)t);
        for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
        double gflops = (double)threads * ITERATIONS * 16 * LANES * 2 / seconds / 1e9;
        if (gflops > best) best = gflops;
    }
    printf("C multiply-add peak (%d lanes, %d threads, registers only): %.1f GFLOP/s\n", LANES, threads, best);
    return sink[0] == 12345.0f;
}
C
cc -O3 -march=native -ffp-contract=fast -pthread "$work/peak.c" -o "$work/peak"
"$work/peak" "$threads"
