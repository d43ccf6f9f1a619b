// Counts heap allocations in the benchmark process: the benchmark executable defines malloc, calloc, realloc
// and posix_memalign, which forward to glibc's implementations and bump a counter, so every allocation in the
// process (Swift runtime, Foundation, MLPKit) is seen. Used to prove a steady-state training step allocates
// nothing. Benchmark-only: the library never links this.
#pragma once
#include <stdint.h>

/// Allocations made so far in this process.
uint64_t mlp_allocation_count(void);
