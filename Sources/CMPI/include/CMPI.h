#ifndef MLPKIT_CMPI_H
#define MLPKIT_CMPI_H

// Open MPI, loaded at run time: no <mpi.h> and no link to libmpi, so `mlp` builds without Open MPI's headers
// and starts where its library is absent. Only a process that mpirun started calls mlp_mpi_load.
//
// The functions below wrap the few MPI calls MLPKit makes, on MPI_COMM_WORLD. Every one but mlp_mpi_load needs
// a successful mlp_mpi_load first. They return MPI_SUCCESS (0) or MPI's error code.

#include <stddef.h>

/// Loads Open MPI's library (RTLD_NOW | RTLD_GLOBAL: Open MPI's plugins resolve their symbols in it) and
/// resolves the functions and predefined handles MLPKit uses.
///
/// `library` names the one file to load (a path, or a name the dynamic loader searches); NULL tries
/// `libmpi.so.40`, then `libmpi.so`. Returns 0 once loaded (again 0, at once, on later calls); otherwise -1 with
/// a NUL-terminated reason (the loader's message for each file tried, or the missing symbol) in `reason`.
int mlp_mpi_load(const char *library, char *reason, size_t reason_size);

/// MPI_Init, then the exit hook: a process that exits without mlp_mpi_finalize (an error, an exit in the
/// middle of training) calls MPI_Abort, so the other ranks, which may be waiting in a collective for it, end at
/// once instead of hanging.
int mlp_mpi_init(void);

/// MPI_Finalize after a clean end (every rank calls it once, after its last collective).
int mlp_mpi_finalize(void);

/// MPI_Comm_rank of MPI_COMM_WORLD.
int mlp_mpi_rank(int *rank);

/// MPI_Comm_size of MPI_COMM_WORLD.
int mlp_mpi_size(int *size);

/// MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD).
int mlp_mpi_allreduce_sum_floats(float *values, int count);

/// MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request): starts the sum and
/// returns at once. `*request` (an MPI_Request: a pointer in Open MPI) is then passed to mlp_mpi_test or
/// mlp_mpi_wait; `values` must stay untouched until the operation completed.
int mlp_mpi_iallreduce_sum_floats(float *values, int count, void **request);

/// MPI_Test(request, flag, MPI_STATUS_IGNORE): advances MPI's progress engine and sets `*completed` to 1 once
/// the operation is done (then `*request` is MPI_REQUEST_NULL and later tests or waits return at once).
int mlp_mpi_test(void **request, int *completed);

/// MPI_Wait(request, MPI_STATUS_IGNORE): returns once the operation is done.
int mlp_mpi_wait(void **request);

/// MPI_Bcast(bytes, count, MPI_BYTE, root, MPI_COMM_WORLD).
int mlp_mpi_broadcast_bytes(void *bytes, int count, int root);

/// MPI_Barrier(MPI_COMM_WORLD).
int mlp_mpi_barrier(void);

#endif
