// Reads an HDF5 file image in a forked child process that runs only this C code and libhdf5.
//
// Why a child: libhdf5 1.10 (Debian's) is not hardened against malformed files; a flipped bit can make it
// segfault, loop or allocate without bound. The child walks the file's tree WITHOUT following anything that
// leaves the file, serializes what Keras files use (groups, attributes, numeric datasets) into a pipe and
// `_exit`s. The parent only reads bytes from the pipe, so whatever libhdf5 does to the child, the parent sees
// an exit status, a signal or a timeout — never a crash of its own.
//
// Why C only in the child: after fork() only the calling thread exists; glibc resets its malloc locks, but the
// Swift runtime's locks (and Foundation's) may be held by threads that no longer exist.

#define _GNU_SOURCE
#include "CHDF5Reader.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// MARK: - Limits (child)

enum {
    MAX_DEPTH = 32,            // nested groups
    MAX_OBJECTS = 200000,      // links visited in the whole file
    MAX_ATTRIBUTE_VALUES = 1 << 20,
    MAX_RANK = 8,
};

/// Fatal error codes carried by an 'E' record (the parent turns them into messages).
enum {
    E_NOT_HDF5 = 1,      // no HDF5 signature
    E_CANNOT_OPEN = 2,   // libhdf5 refused to open the image
    E_REFUSED = 3,       // external link, soft link, external storage, virtual dataset
    E_TOO_LARGE = 4,     // more objects / values than the file can plausibly hold
    E_UNREADABLE = 5,    // a group that cannot be iterated
};

// MARK: - Output stream (child)

typedef struct {
    int fd;
    unsigned char buffer[1 << 16];
    size_t used;
} writer_t;

static void flush_writer(writer_t *w) {
    size_t done = 0;
    while (done < w->used) {
        ssize_t n = write(w->fd, w->buffer + done, w->used - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(3);
        done += (size_t)n;
    }
    w->used = 0;
}

static void put_bytes(writer_t *w, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    while (count > 0) {
        if (w->used == sizeof w->buffer) flush_writer(w);
        size_t room = sizeof w->buffer - w->used;
        size_t n = count < room ? count : room;
        memcpy(w->buffer + w->used, p, n);
        w->used += n;
        p += n;
        count -= n;
    }
}

static void put_u8(writer_t *w, uint8_t v) { put_bytes(w, &v, 1); }
static void put_u32(writer_t *w, uint32_t v) { put_bytes(w, &v, 4); }
static void put_u64(writer_t *w, uint64_t v) { put_bytes(w, &v, 8); }
static void put_string(writer_t *w, const char *s, size_t length) {
    put_u32(w, (uint32_t)length);
    put_bytes(w, s, length);
}
static void put_cstring(writer_t *w, const char *s) { put_string(w, s, strlen(s)); }

/// Writes an 'E' record and ends the child.
static void fail(writer_t *w, int code, const char *format, ...) __attribute__((format(printf, 3, 4), noreturn));
static void fail(writer_t *w, int code, const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    put_u8(w, 'E');
    put_u32(w, (uint32_t)code);
    put_cstring(w, message);
    flush_writer(w);
    _exit(0);
}

// MARK: - Tree walk (child)

typedef struct {
    writer_t *w;
    uint64_t objects;
    uint64_t value_budget;   // float32 values all datasets together may hold
    int depth;
    char path[4096];
} walk_t;

static void join(char *out, size_t capacity, const char *parent, const char *name) {
    if (strcmp(parent, "/") == 0) snprintf(out, capacity, "/%s", name);
    else snprintf(out, capacity, "%s/%s", parent, name);
}

static herr_t visit_attribute(hid_t owner, const char *name, const H5A_info_t *info, void *data) {
    (void)info;
    walk_t *walk = data;
    writer_t *w = walk->w;
    put_u8(w, 'A');
    put_cstring(w, walk->path);
    put_cstring(w, name);
    hid_t attribute = H5Aopen(owner, name, H5P_DEFAULT);
    if (attribute < 0) { put_u8(w, 3); put_u32(w, 0); return 0; }
    hid_t stored = H5Aget_type(attribute);
    hid_t space = H5Aget_space(attribute);
    H5T_class_t type_class = stored >= 0 ? H5Tget_class(stored) : H5T_NO_CLASS;
    hssize_t points = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (space >= 0 && H5Sget_simple_extent_type(space) == H5S_NULL) points = 0;
    if (points < 0 || points > MAX_ATTRIBUTE_VALUES || stored < 0) {
        put_u8(w, 3); put_u32(w, 0);
    } else if (type_class == H5T_STRING) {
        size_t count = (size_t)points;
        if (H5Tis_variable_str(stored) > 0) {
            hid_t type = H5Tcopy(H5T_C_S1);
            H5Tset_size(type, H5T_VARIABLE);
            H5Tset_cset(type, H5Tget_cset(stored));
            char **values = calloc(count ? count : 1, sizeof(char *));
            if (values && H5Aread(attribute, type, values) >= 0) {
                put_u8(w, 0); put_u32(w, (uint32_t)count);
                for (size_t i = 0; i < count; i++) put_cstring(w, values[i] ? values[i] : "");
                H5Dvlen_reclaim(type, space, H5P_DEFAULT, values);
            } else {
                put_u8(w, 3); put_u32(w, 0);
            }
            free(values);
            H5Tclose(type);
        } else {
            size_t size = H5Tget_size(stored);
            char *bytes = (size > 0 && size < (1u << 24) && (uint64_t)size * count < (1u << 28))
                ? calloc(size * (count ? count : 1) + 1, 1) : NULL;
            if (bytes && H5Aread(attribute, stored, bytes) >= 0) {
                put_u8(w, 0); put_u32(w, (uint32_t)count);
                for (size_t i = 0; i < count; i++) put_string(w, bytes + i * size, strnlen(bytes + i * size, size));
            } else {
                put_u8(w, 3); put_u32(w, 0);
            }
            free(bytes);
        }
    } else if (type_class == H5T_INTEGER || type_class == H5T_FLOAT) {
        size_t count = (size_t)points;
        double *values = calloc(count ? count : 1, sizeof(double));
        if (values && H5Aread(attribute, H5T_NATIVE_DOUBLE, values) >= 0) {
            put_u8(w, 1); put_u32(w, (uint32_t)count);
            put_bytes(w, values, count * sizeof(double));
        } else {
            put_u8(w, 3); put_u32(w, 0);
        }
        free(values);
    } else {
        put_u8(w, 2); put_u32(w, 0);
    }
    if (space >= 0) H5Sclose(space);
    if (stored >= 0) H5Tclose(stored);
    H5Aclose(attribute);
    return 0;
}

static void visit_attributes(walk_t *walk, hid_t object) {
    hsize_t index = 0;
    if (H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, visit_attribute, walk) < 0) {
        fail(walk->w, E_UNREADABLE, "the attributes of '%s' cannot be read", walk->path);
    }
}

static void visit_dataset(walk_t *walk, hid_t dataset) {
    writer_t *w = walk->w;
    hid_t dcpl = H5Dget_create_plist(dataset);
    if (dcpl < 0) fail(w, E_UNREADABLE, "the dataset '%s' has an unreadable layout", walk->path);
    H5D_layout_t layout = H5Pget_layout(dcpl);
    int external = H5Pget_external_count(dcpl);
    H5Pclose(dcpl);
    if (layout == H5D_VIRTUAL) {
        fail(w, E_REFUSED, "the dataset '%s' is a virtual dataset (its data lives in other files); MLPKit refuses it", walk->path);
    }
    if (external != 0) {
        fail(w, E_REFUSED, "the dataset '%s' uses external storage (its data lives in another file); MLPKit refuses it", walk->path);
    }
    if (layout < 0) fail(w, E_UNREADABLE, "the dataset '%s' has an unreadable layout", walk->path);

    put_u8(w, 'D');
    put_cstring(w, walk->path);
    hid_t type = H5Dget_type(dataset);
    H5T_class_t type_class = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (type >= 0) H5Tclose(type);
    hid_t space = H5Dget_space(dataset);
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t dims[H5S_MAX_RANK];
    if (rank < 0 || rank > MAX_RANK || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        if (space >= 0) H5Sclose(space);
        put_u8(w, 3);   // unreadable shape
        put_u32(w, 0);
        return;
    }
    uint64_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] != 0 && count > UINT64_MAX / dims[i]) count = UINT64_MAX;
        else count *= dims[i];
    }
    if (type_class != H5T_FLOAT && type_class != H5T_INTEGER) {
        H5Sclose(space);
        put_u8(w, 1);   // not numeric
        put_u32(w, (uint32_t)rank);
        for (int i = 0; i < rank; i++) put_u64(w, dims[i]);
        return;
    }
    if (count >= (1ull << 31) || count > walk->value_budget) {
        H5Sclose(space);
        fail(w, E_TOO_LARGE, "the dataset '%s' declares %llu values, more than the file can hold", walk->path,
             (unsigned long long)count);
    }
    walk->value_budget -= count;
    float *values = malloc((size_t)(count ? count : 1) * sizeof(float));
    herr_t status = values ? H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) : -1;
    H5Sclose(space);
    put_u8(w, status >= 0 ? 0 : 2);   // 0 read, 2 unreadable data
    put_u32(w, (uint32_t)rank);
    for (int i = 0; i < rank; i++) put_u64(w, dims[i]);
    if (status >= 0) put_bytes(w, values, (size_t)count * sizeof(float));
    free(values);
}

static void visit_group(walk_t *walk, hid_t group);

static herr_t visit_link(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    walk_t *walk = data;
    char parent[sizeof walk->path];
    memcpy(parent, walk->path, sizeof parent);
    join(walk->path, sizeof walk->path, parent, name);
    if (++walk->objects > MAX_OBJECTS) fail(walk->w, E_TOO_LARGE, "the file has more than %d objects", MAX_OBJECTS);
    switch (info->type) {
    case H5L_TYPE_HARD: break;
    case H5L_TYPE_SOFT:
        fail(walk->w, E_REFUSED, "'%s' is a soft link; MLPKit reads only objects stored in the file itself", walk->path);
    case H5L_TYPE_EXTERNAL:
        fail(walk->w, E_REFUSED, "'%s' is an external link to another file; MLPKit refuses it", walk->path);
    default:
        fail(walk->w, E_REFUSED, "'%s' is a user-defined link; MLPKit refuses it", walk->path);
    }
    hid_t object = H5Oopen(group, name, H5P_DEFAULT);
    if (object < 0) fail(walk->w, E_UNREADABLE, "the object '%s' cannot be opened (corrupt)", walk->path);
    switch (H5Iget_type(object)) {
    case H5I_GROUP: visit_group(walk, object); break;
    case H5I_DATASET: visit_dataset(walk, object); break;
    default: break;   // named datatypes: nothing Keras reads
    }
    H5Oclose(object);
    memcpy(walk->path, parent, sizeof parent);
    return 0;
}

static void visit_group(walk_t *walk, hid_t group) {
    if (++walk->depth > MAX_DEPTH) fail(walk->w, E_TOO_LARGE, "'%s' is nested deeper than %d groups", walk->path, MAX_DEPTH);
    put_u8(walk->w, 'G');
    put_cstring(walk->w, walk->path);
    visit_attributes(walk, group);
    hsize_t index = 0;
    if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, visit_link, walk) < 0) {
        fail(walk->w, E_UNREADABLE, "the group '%s' cannot be read (corrupt)", walk->path);
    }
    walk->depth -= 1;
}

static int has_signature(const unsigned char *image, size_t size) {
    static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    for (size_t offset = 0; offset + 8 <= size; offset = offset == 0 ? 512 : offset * 2) {
        if (memcmp(image + offset, signature, 8) == 0) return 1;
    }
    return 0;
}

/// The child's address-space size now, in bytes (0 when unknown).
static uint64_t current_address_space(void) {
    FILE *statm = fopen("/proc/self/statm", "r");
    if (!statm) return 0;
    unsigned long long pages = 0;
    int read = fscanf(statm, "%llu", &pages);
    fclose(statm);
    return read == 1 ? pages * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static void child_main(const void *image, size_t size, int fd) __attribute__((noreturn));
static void child_main(const void *image, size_t size, int fd) {
    // Default crash behaviour (the parent's runtime may have installed handlers), no core files, and
    // limits sized from the file: a crafted file may make libhdf5 allocate or loop, never without bound.
    static const int crashes[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGXCPU, SIGPIPE};
    for (size_t i = 0; i < sizeof crashes / sizeof crashes[0]; i++) signal(crashes[i], SIG_DFL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    rlim_t seconds = 10 + (rlim_t)(size >> 24);
    struct rlimit cpu = {seconds, seconds + 1};
    setrlimit(RLIMIT_CPU, &cpu);
    uint64_t now = current_address_space();
    if (now > 0) {
        uint64_t budget = now + (512ull << 20) + 8 * (uint64_t)size;
        struct rlimit memory = {budget, budget};
        setrlimit(RLIMIT_AS, &memory);
    }
    // Only the pipe stays open: another thread's read must see its own child's end of file, not wait for ours.
    if (fd > 3) syscall(SYS_close_range, 3u, (unsigned)fd - 1, 0u);
    syscall(SYS_close_range, (unsigned)fd + 1, ~0u, 0u);

    static writer_t w;
    w.fd = fd;
    w.used = 0;
    if (!has_signature(image, size)) fail(&w, E_NOT_HDF5, "not an HDF5 file (or truncated)");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    H5PLset_loading_state(0);   // never load filter plugins a file asks for
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 || H5Pset_file_image(fapl, (void *)image, size) < 0) {
        fail(&w, E_CANNOT_OPEN, "the HDF5 library cannot take the file image");
    }
    hid_t file = H5Fopen("mlpkit-image.h5", H5F_ACC_RDONLY, fapl);
    if (file < 0) fail(&w, E_CANNOT_OPEN, "the HDF5 file cannot be opened (corrupt or truncated)");
    hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
    if (root < 0) fail(&w, E_CANNOT_OPEN, "the HDF5 file has no readable root group (corrupt)");
    static walk_t walk;
    walk.w = &w;
    walk.objects = 0;
    walk.depth = 0;
    walk.value_budget = (uint64_t)size + (1u << 20);
    strcpy(walk.path, "/");
    visit_group(&walk, root);
    put_u8(&w, 'Z');
    flush_writer(&w);
    _exit(0);
}

// MARK: - Parent

static long long milliseconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int mlp_h5r_read(const void *image, size_t size, int timeout_ms, size_t max_stream,
                 unsigned char **stream, size_t *stream_size, int *detail) {
    *stream = NULL;
    *stream_size = 0;
    *detail = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) { *detail = errno; return MLP_H5R_NO_CHILD; }
    pid_t child = fork();
    if (child < 0) {
        *detail = errno;
        close(fds[0]);
        close(fds[1]);
        return MLP_H5R_NO_CHILD;
    }
    if (child == 0) {
        close(fds[0]);
        child_main(image, size, fds[1]);
    }
    close(fds[1]);

    size_t capacity = 1 << 16, used = 0;
    unsigned char *buffer = malloc(capacity);
    int outcome = -1;
    long long deadline = milliseconds_now() + timeout_ms;
    while (buffer) {
        long long left = deadline - milliseconds_now();
        if (left <= 0) { outcome = MLP_H5R_TIMED_OUT; break; }
        struct pollfd p = {fds[0], POLLIN, 0};
        int ready = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        if (used == capacity) {
            if (capacity >= max_stream) { outcome = MLP_H5R_TOO_LARGE; break; }
            size_t grown = capacity * 2 > max_stream ? max_stream : capacity * 2;
            unsigned char *bigger = realloc(buffer, grown);
            if (!bigger) { outcome = MLP_H5R_TOO_LARGE; break; }
            buffer = bigger;
            capacity = grown;
        }
        ssize_t n = read(fds[0], buffer + used, capacity - used);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;   // end of file: the child exited (or closed the pipe)
        used += (size_t)n;
    }
    close(fds[0]);
    if (outcome >= 0 || !buffer) kill(child, SIGKILL);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    if (!buffer) return MLP_H5R_TOO_LARGE;
    if (outcome >= 0) { free(buffer); return outcome; }
    *stream = buffer;
    *stream_size = used;
    if (WIFSIGNALED(status)) { *detail = WTERMSIG(status); return MLP_H5R_SIGNALED; }
    *detail = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return MLP_H5R_EXITED;
}
