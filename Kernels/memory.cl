// memory.cl — gather_rows: destination[r] = source[indices[offset + r]], row by row: the batch gather for
// shuffled samples. The epoch's order is uploaded once; each step reads its slice on the device.
//
// One work-item per destination element (r, j): global = rows·row_length, rounded up.

__kernel void gather_rows(__global const float *source, __global const int *indices, const int offset,
                          __global float *destination, const int rows, const int row_length) {
    int i = get_global_id(0);
    if (i >= rows * row_length) return;
    int r = i / row_length, j = i % row_length;
    destination[i] = source[(long)indices[offset + r] * row_length + j];
}
