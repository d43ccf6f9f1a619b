// Open MPI's C API, plus the handles Swift cannot import (macros over library globals) and the exit hook.
#include <mpi.h>
#include <stdlib.h>

static inline MPI_Comm mlp_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype mlp_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype mlp_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op mlp_mpi_sum(void) { return MPI_SUM; }
static inline void *mlp_mpi_in_place(void) { return MPI_IN_PLACE; }

static int mlp_mpi_finalized_cleanly = 0;

/// At exit: a process that did not finalize (an error, an exit in the middle of training) aborts the whole job,
/// so the other ranks, which may be waiting in a collective for it, end at once instead of hanging.
static void mlp_mpi_at_exit(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized && !mlp_mpi_finalized_cleanly) MPI_Abort(MPI_COMM_WORLD, 1);
}

/// MPI_Init, and the exit hook; returns MPI_SUCCESS or MPI's error code.
static inline int mlp_mpi_init(void) {
    int status = MPI_Init(NULL, NULL);
    if (status == MPI_SUCCESS) atexit(mlp_mpi_at_exit);
    return status;
}

/// MPI_Finalize after a clean end (every rank calls it).
static inline int mlp_mpi_finalize(void) {
    mlp_mpi_finalized_cleanly = 1;
    return MPI_Finalize();
}
