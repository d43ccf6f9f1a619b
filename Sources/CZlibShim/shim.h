// zlib, for reading gzip-compressed data (MNIST's .gz IDX files). inflateInit2 is a macro, so it is wrapped.
#include <zlib.h>

/// Starts a gzip (not raw deflate) decompression stream.
static inline int mlp_inflate_init_gzip(z_streamp stream) { return inflateInit2(stream, 16 + MAX_WBITS); }
