// losses.cl — per-sample loss and ∂loss/∂prediction, one work-item per sample (row).
//
// row_loss[r] gets sample r's loss (Keras "sum over batch size": mean over the last axis for MSE, MAE and
// binary cross-entropy, sum over classes for the categorical ones); the sum over rows is added to the
// accumulator by accumulate_sum (reduce.cl). gradient (when has_gradient) = scale · ∂loss_r/∂p.
// Kinds: the LOSS_* macros the host defines from Swift's `LossSelector` (MSE, MAE, binary, categorical, sparse).
// Targets: (rows, columns), or (rows) class indices for kind 4. Probabilities are clipped to
// [1e-7, 1 − 1e-7] and categorical probabilities renormalised, as Keras 3 does.

#define LOSS_EPSILON 1e-7f

float target_value(__global const float *t, int r, int j, int columns, int sparse) {
    return sparse ? ((float)j == t[r] ? 1.0f : 0.0f) : t[r * columns + j];
}

__kernel void loss_rows(const int kind, const int from_logits, __global const float *p, __global const float *t,
                        __global const float *weights, const int has_weights,
                        const int rows, const int columns, __global float *gradient, const int has_gradient,
                        const float scale, __global float *row_loss) {
    int r = get_global_id(0);
    if (r >= rows) return;
    int o = r * columns;
    float per_column = 1.0f / (float)columns;
    float sample = 0.0f;
    if (kind == LOSS_MEAN_SQUARED_ERROR || kind == LOSS_MEAN_ABSOLUTE_ERROR) {
        for (int j = 0; j < columns; j++) {
            float d = p[o + j] - t[o + j];
            if (kind == LOSS_MEAN_SQUARED_ERROR) {
                sample += d * d;
                if (has_gradient) gradient[o + j] = scale * 2.0f * d * per_column;
            } else {
                sample += fabs(d);
                if (has_gradient) gradient[o + j] = scale * (d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f)) * per_column;
            }
        }
        sample *= per_column;
    } else if (kind == LOSS_BINARY_CROSSENTROPY) {
        for (int j = 0; j < columns; j++) {
            float y = t[o + j];
            if (from_logits) {
                float z = p[o + j];
                sample += fmax(z, 0.0f) - z * y + log1p(exp(-fabs(z)));
                if (has_gradient) gradient[o + j] = scale * (stable_sigmoid(z) - y) * per_column;
            } else {
                float q = fmin(fmax(p[o + j], LOSS_EPSILON), 1.0f - LOSS_EPSILON);
                sample -= y * log(q) + (1.0f - y) * log(1.0f - q);
                int inside = p[o + j] > LOSS_EPSILON && p[o + j] < 1.0f - LOSS_EPSILON;
                if (has_gradient) gradient[o + j] = inside ? scale * (-y / q + (1.0f - y) / (1.0f - q)) * per_column : 0.0f;
            }
        }
        sample *= per_column;
    } else if (kind == LOSS_CATEGORICAL_CROSSENTROPY || kind == LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
        int sparse = kind == LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
        float label = sparse ? t[r] : 0.0f;
        if (sparse && (label < 0.0f || label >= (float)columns || label != floor(label))) {
            row_loss[r] = NAN;
            return;
        }
        if (from_logits) {
            float maximum = -INFINITY;
            for (int j = 0; j < columns; j++) maximum = fmax(maximum, p[o + j]);
            float sum_exp = 0.0f;
            for (int j = 0; j < columns; j++) sum_exp += exp(p[o + j] - maximum);
            float log_sum_exp = maximum + log(sum_exp);
            float target_sum = 0.0f;
            for (int j = 0; j < columns; j++) {
                float y = target_value(t, r, j, columns, sparse);
                sample -= y * (p[o + j] - log_sum_exp);
                target_sum += y;
            }
            if (has_gradient) {
                for (int j = 0; j < columns; j++)
                    gradient[o + j] = scale * (exp(p[o + j] - log_sum_exp) * target_sum - target_value(t, r, j, columns, sparse));
            }
        } else {
            float sum = 0.0f;
            for (int j = 0; j < columns; j++) sum += p[o + j];
            float weighted = 0.0f;
            for (int j = 0; j < columns; j++) {
                float q = p[o + j] / sum;
                float clipped = fmin(fmax(q, LOSS_EPSILON), 1.0f - LOSS_EPSILON);
                float y = target_value(t, r, j, columns, sparse);
                sample -= y * log(clipped);
                if (q > LOSS_EPSILON && q < 1.0f - LOSS_EPSILON) weighted += (-y / clipped) * q;
            }
            if (has_gradient) {
                for (int j = 0; j < columns; j++) {
                    float q = p[o + j] / sum;
                    float local_gradient = (q > LOSS_EPSILON && q < 1.0f - LOSS_EPSILON) ? -target_value(t, r, j, columns, sparse) / q : 0.0f;
                    gradient[o + j] = scale * (local_gradient - weighted) / sum;
                }
            }
        }
    }
    if (has_weights) {
        float w = weights[r];
        sample *= w;
        if (has_gradient) { for (int j = 0; j < columns; j++) gradient[o + j] *= w; }
    }
    row_loss[r] = sample;
}
