// Open MPI through dlopen. The ABI below is Open MPI's (4.x and 5.x, `libmpi.so.40`), as its <mpi.h> defines it:
//   - MPI_Comm, MPI_Datatype and MPI_Op are pointers to structs;
//   - MPI_COMM_WORLD, MPI_FLOAT, MPI_BYTE and MPI_SUM are the addresses of the library's global objects
//     ompi_mpi_comm_world, ompi_mpi_float, ompi_mpi_byte and ompi_mpi_op_sum (OMPI_PREDEFINED_GLOBAL);
//   - MPI_Request is a pointer to a struct (MPI_REQUEST_NULL the address of ompi_request_null);
//   - MPI_IN_PLACE is (void *)1, MPI_STATUS_IGNORE is (MPI_Status *)0 and MPI_SUCCESS is 0.
// Another MPI (MPICH's libmpi.so.12 uses integer handles) lacks the ompi_ symbols and is refused at load.

#define _GNU_SOURCE
#include "CMPI.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// An Open MPI handle (MPI_Comm, MPI_Datatype, MPI_Op): a pointer to one of the library's objects.
typedef void *mlp_mpi_handle;

/// MPI_IN_PLACE in Open MPI's <mpi.h>.
#define MLP_MPI_IN_PLACE ((void *)1)

/// MPI_STATUS_IGNORE in Open MPI's <mpi.h>.
#define MLP_MPI_STATUS_IGNORE ((void *)0)

/// The resolved functions and handles; filled once by mlp_mpi_load.
static struct {
    int (*init)(int *, char ***);
    int (*initialized)(int *);
    int (*finalized)(int *);
    int (*finalize)(void);
    int (*abort)(mlp_mpi_handle, int);
    int (*comm_rank)(mlp_mpi_handle, int *);
    int (*comm_size)(mlp_mpi_handle, int *);
    int (*allreduce)(const void *, void *, int, mlp_mpi_handle, mlp_mpi_handle, mlp_mpi_handle);
    int (*iallreduce)(const void *, void *, int, mlp_mpi_handle, mlp_mpi_handle, mlp_mpi_handle, void **);
    int (*test)(void **, int *, void *);
    int (*wait)(void **, void *);
    int (*bcast)(void *, int, mlp_mpi_handle, int, mlp_mpi_handle);
    int (*barrier)(mlp_mpi_handle);
    mlp_mpi_handle comm_world;
    mlp_mpi_handle float_type;
    mlp_mpi_handle byte_type;
    mlp_mpi_handle sum_op;
} mpi;

static int mlp_mpi_loaded = 0;
static int mlp_mpi_finalized_cleanly = 0;

/// Opens `name`, appending the loader's message to `reason` on failure.
static void *mlp_mpi_open(const char *name, char *reason, size_t reason_size) {
    void *library = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    if (!library && reason_size > 0) {
        const char *error = dlerror();
        size_t used = strlen(reason);
        snprintf(reason + used, reason_size - used, "%s%s", used > 0 ? "; " : "", error ? error : name);
    }
    return library;
}

int mlp_mpi_load(const char *library, char *reason, size_t reason_size) {
    if (mlp_mpi_loaded) return 0;
    if (reason_size > 0) reason[0] = 0;
    void *handle = NULL;
    if (library) {
        handle = mlp_mpi_open(library, reason, reason_size);
    } else {
        handle = mlp_mpi_open("libmpi.so.40", reason, reason_size);
        if (!handle) handle = mlp_mpi_open("libmpi.so", reason, reason_size);
    }
    if (!handle) return -1;

    struct { const char *name; void **slot; } symbols[] = {
        {"MPI_Init", (void **)&mpi.init},
        {"MPI_Initialized", (void **)&mpi.initialized},
        {"MPI_Finalized", (void **)&mpi.finalized},
        {"MPI_Finalize", (void **)&mpi.finalize},
        {"MPI_Abort", (void **)&mpi.abort},
        {"MPI_Comm_rank", (void **)&mpi.comm_rank},
        {"MPI_Comm_size", (void **)&mpi.comm_size},
        {"MPI_Allreduce", (void **)&mpi.allreduce},
        {"MPI_Iallreduce", (void **)&mpi.iallreduce},
        {"MPI_Test", (void **)&mpi.test},
        {"MPI_Wait", (void **)&mpi.wait},
        {"MPI_Bcast", (void **)&mpi.bcast},
        {"MPI_Barrier", (void **)&mpi.barrier},
        {"ompi_mpi_comm_world", &mpi.comm_world},
        {"ompi_mpi_float", &mpi.float_type},
        {"ompi_mpi_byte", &mpi.byte_type},
        {"ompi_mpi_op_sum", &mpi.sum_op},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *address = dlsym(handle, symbols[i].name);
        if (!address) {
            // The file the loader found, for the message.
            struct link_map *map = NULL;
            const char *file = library ? library : "libmpi";
            if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && map->l_name[0]) file = map->l_name;
            if (reason_size > 0) {
                snprintf(reason, reason_size, "%s has no symbol %s, so it is not Open MPI's libmpi", file,
                         symbols[i].name);
            }
            memset(&mpi, 0, sizeof mpi);
            dlclose(handle);
            return -1;
        }
        *symbols[i].slot = address;
    }
    mlp_mpi_loaded = 1;
    return 0;
}

/// At exit: a process that did not finalize aborts the whole job (see mlp_mpi_init).
static void mlp_mpi_at_exit(void) {
    int initialized = 0, finalized = 0;
    mpi.initialized(&initialized);
    mpi.finalized(&finalized);
    if (initialized && !finalized && !mlp_mpi_finalized_cleanly) mpi.abort(mpi.comm_world, 1);
}

int mlp_mpi_init(void) {
    int status = mpi.init(NULL, NULL);
    if (status == 0) atexit(mlp_mpi_at_exit);
    return status;
}

int mlp_mpi_finalize(void) {
    mlp_mpi_finalized_cleanly = 1;
    return mpi.finalize();
}

int mlp_mpi_rank(int *rank) { return mpi.comm_rank(mpi.comm_world, rank); }

int mlp_mpi_size(int *size) { return mpi.comm_size(mpi.comm_world, size); }

int mlp_mpi_allreduce_sum_floats(float *values, int count) {
    return mpi.allreduce(MLP_MPI_IN_PLACE, values, count, mpi.float_type, mpi.sum_op, mpi.comm_world);
}

int mlp_mpi_iallreduce_sum_floats(float *values, int count, void **request) {
    return mpi.iallreduce(MLP_MPI_IN_PLACE, values, count, mpi.float_type, mpi.sum_op, mpi.comm_world, request);
}

int mlp_mpi_test(void **request, int *completed) { return mpi.test(request, completed, MLP_MPI_STATUS_IGNORE); }

int mlp_mpi_wait(void **request) { return mpi.wait(request, MLP_MPI_STATUS_IGNORE); }

int mlp_mpi_broadcast_bytes(void *bytes, int count, int root) {
    return mpi.bcast(bytes, count, mpi.byte_type, root, mpi.comm_world);
}

int mlp_mpi_barrier(void) { return mpi.barrier(mpi.comm_world); }
