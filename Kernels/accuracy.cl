// accuracy.cl — per-sample correctness (1 or 0; a fraction for multi-output binary accuracy), one
// work-item per sample; accumulate_sum (reduce.cl) adds the batch's sum to the accumulator.
//
// Kinds (match `AccuracyKind.kernelCode`): 0 binary (p > 0.5 equals the 0/1 target, averaged over the
// sample's outputs), 1 categorical (argmax p == argmax t), 2 sparse categorical (argmax p == t[r]).
// argmax takes the first maximum, as the CPU reference does.

int row_argmax(__global const float *v, int columns) {
    int best = 0;
    for (int j = 1; j < columns; j++) if (v[j] > v[best]) best = j;
    return best;
}

__kernel void accuracy_rows(const int kind, __global const float *p, __global const float *t, const int rows,
                            const int columns, __global float *row_correct) {
    int r = get_global_id(0);
    if (r >= rows) return;
    int o = r * columns;
    float correct = 0.0f;
    if (kind == 0) {
        float hits = 0.0f;
        for (int j = 0; j < columns; j++) if ((p[o + j] > 0.5f ? 1.0f : 0.0f) == t[o + j]) hits += 1.0f;
        correct = hits / (float)columns;
    } else if (kind == 1) {
        correct = row_argmax(p + o, columns) == row_argmax(t + o, columns) ? 1.0f : 0.0f;
    } else {
        correct = (float)row_argmax(p + o, columns) == t[r] ? 1.0f : 0.0f;
    }
    row_correct[r] = correct;
}
