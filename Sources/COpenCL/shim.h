// OpenCL 1.2 API (every ICD and PoCL provide it) and CLBlast's C API.
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <clblast_c.h>
