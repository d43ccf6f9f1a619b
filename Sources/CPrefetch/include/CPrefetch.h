#ifndef MLPKIT_CPREFETCH_H
#define MLPKIT_CPREFETCH_H

/// A hint that the cache line holding `address` will be read soon: fetched into the L2 cache (and the levels
/// below it) without waiting for it. No effect on results; a no-op where the compiler has no prefetch instruction.
static inline __attribute__((always_inline)) void mlpkit_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 2);
}

#endif
