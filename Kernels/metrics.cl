// metrics.cl — per-sample correctness (1 or 0; a fraction for multi-output binary accuracy), one
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
    if (kind == ACC_BINARY_ACCURACY) {
        float hits = 0.0f;
        for (int j = 0; j < columns; j++) if ((p[o + j] > 0.5f ? 1.0f : 0.0f) == t[o + j]) hits += 1.0f;
        correct = hits / (float)columns;
    } else if (kind == ACC_CATEGORICAL_ACCURACY) {
        correct = row_argmax(p + o, columns) == row_argmax(t + o, columns) ? 1.0f : 0.0f;
    } else if (kind == ACC_SPARSE_CATEGORICAL_ACCURACY) {
        correct = (float)row_argmax(p + o, columns) == t[r] ? 1.0f : 0.0f;
    }
    row_correct[r] = correct;
}

// Top-k: 1 when the target class (index for sparse, argmax of the one-hot row otherwise) has fewer than k
// classes scoring strictly higher. One work-item per sample.
__kernel void top_k_rows(__global const float *p, __global const float *t, const int rows, const int columns, const int k,
                         const int sparse, __global float *row_correct) {
    int r = get_global_id(0);
    if (r >= rows) return;
    int o = r * columns;
    int target = sparse ? (int)t[r] : row_argmax(t + o, columns);
    float correct = 0.0f;
    if (target >= 0 && target < columns) {
        int higher = 0;
        for (int j = 0; j < columns; j++) if (p[o + j] > p[o + target]) higher++;
        correct = higher < k ? 1.0f : 0.0f;
    }
    row_correct[r] = correct;
}

// Confusion counts for precision, recall and AUC: one work-item per threshold i adds TP, FP, TN, FN of
// p > thresholds[i] against t > 0.5 over n values to counts[index + 4i … 4i + 3].
__kernel void confusion_counts(__global const float *p, __global const float *t, const int n, __global const float *thresholds,
                               const int threshold_count, __global float *counts, const int index) {
    int i = get_global_id(0);
    if (i >= threshold_count) return;
    float tp = 0.0f, fp = 0.0f, tn = 0.0f, fn = 0.0f, threshold = thresholds[i];
    for (int e = 0; e < n; e++) {
        int positive = p[e] > threshold, actual = t[e] > 0.5f;
        if (positive && actual) tp += 1.0f; else if (positive) fp += 1.0f; else if (actual) fn += 1.0f; else tn += 1.0f;
    }
    __global float *out = counts + index + 4 * i;
    out[0] += tp; out[1] += fp; out[2] += tn; out[3] += fn;
}
