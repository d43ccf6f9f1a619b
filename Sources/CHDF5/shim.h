// HDF5's C API, plus the values Swift cannot import (they are macros over library globals).
#include <hdf5.h>

static inline hid_t mlp_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t mlp_h5s_all(void) { return H5S_ALL; }
static inline hid_t mlp_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t mlp_h5t_native_llong(void) { return H5T_NATIVE_LLONG; }
static inline hid_t mlp_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t mlp_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t mlp_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t mlp_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t mlp_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t mlp_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t mlp_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline size_t mlp_h5t_variable(void) { return H5T_VARIABLE; }
static inline unsigned mlp_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned mlp_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
/// Turns off HDF5's automatic error-stack printing: MLPKit reports errors itself, in one line.
static inline void mlp_h5_silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
