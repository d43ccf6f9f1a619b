#!/usr/bin/env python3
"""Writes the Keras reference fixtures the Swift tests compare against (Tests/MLPTrainingTests/Fixtures/).

- seed-summary-tf-keras.txt: tf-keras 2.21's summary() of the seed notebook's model (14 -> 25 -> 36 -> 47 -> 7).
- keras-reference.json: Keras 3 (tensorflow-cpu 2.21) activation values, loss values, and a few training steps
  of a small model from fixed weights with SGD (momentum, Nesterov), Adam and RMSprop: the weights after
  training and the History losses.

Usage: python3 -m venv /tmp/venv && /tmp/venv/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0
       /tmp/venv/bin/python Scripts/make-keras-fixtures.py
       /tmp/venv/bin/python Scripts/make-keras-fixtures.py --loss-forms   # only the loss-*.{keras,h5} files
"""
import io, json, os, pathlib, contextlib, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np

out_dir = pathlib.Path(__file__).resolve().parent.parent / "Tests/MLPTrainingTests/Fixtures"
out_dir.mkdir(parents=True, exist_ok=True)


def write_loss_form_fixtures():
    """Fixtures/models/loss-*.{keras,h5} and loss-forms.json: one small classifier compiled with the loss as a
    function (keras.losses.sparse_categorical_crossentropy), as a class (SparseCategoricalCrossentropy()) and
    as a string, saved by Keras 3 (.keras, .h5) and tf-keras (.h5), with the predictions Keras made.
    Run alone with --loss-forms, so the other fixtures are not rewritten."""
    import keras
    import tf_keras
    models_dir = out_dir / "models"
    models_dir.mkdir(exist_ok=True)
    rng = np.random.default_rng(17)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=(32,))
    inputs = rng.normal(size=(5, 3)).astype(np.float32)
    predictions = {}
    for kname, K in [("keras3", keras), ("keras2", tf_keras)]:
        forms = {"function": K.losses.sparse_categorical_crossentropy,
                 "class": K.losses.SparseCategoricalCrossentropy(),
                 "string": "sparse_categorical_crossentropy"}
        for form, loss in forms.items():
            K.utils.set_random_seed(5)
            model = K.Sequential([K.Input(shape=(3,)), K.layers.Dense(4, activation="relu"),
                                  K.layers.Dense(3, activation="softmax")])
            model.compile(optimizer=K.optimizers.Adam(learning_rate=0.01), loss=loss, metrics=["accuracy"])
            model.fit(x, y, epochs=2, batch_size=8, verbose=0)
            name = f"loss-{form}-{kname}"
            model.save(str(models_dir / f"{name}.h5"))
            if K is keras:
                model.save(str(models_dir / f"{name}.keras"))
            predictions[name] = np.asarray(model.predict(inputs, verbose=0)).astype(float).tolist()
    (models_dir / "loss-forms.json").write_text(json.dumps({"inputs": inputs.tolist(), "predictions": predictions}) + "\n")
    print("wrote loss-form model files")


if "--loss-forms" in sys.argv:
    write_loss_form_fixtures()
    sys.exit(0)

# --- tf-keras (Keras 2) summary text -------------------------------------------------------------------
import tf_keras
m2 = tf_keras.Sequential([
    tf_keras.layers.Dense(25, input_shape=(14,), activation="relu"),
    tf_keras.layers.Dense(36, activation="relu"),
    tf_keras.layers.Dense(47, activation="relu"),
    tf_keras.layers.Dense(7, activation="softmax"),
])
lines = []
m2.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
(out_dir / "seed-summary-tf-keras.txt").write_text("\n".join(lines) + "\n")

# --- Keras 3 numbers -----------------------------------------------------------------------------------
import keras
reference = {"keras_version": keras.__version__}

z = np.array([-3.0, -1.5, -0.2, 0.0, 0.5, 2.0, 7.0], dtype=np.float32)
names = ["linear", "relu", "sigmoid", "tanh", "softplus", "softsign", "elu", "selu", "gelu", "silu",
         "leaky_relu", "relu6", "hard_sigmoid", "exponential", "mish"]
reference["activation_input"] = z.tolist()
reference["activations"] = {n: np.asarray(keras.activations.get(n)(z)).astype(float).tolist() for n in names}
reference["softmax_input"] = [[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0]]
reference["softmax"] = np.asarray(keras.activations.softmax(np.array(reference["softmax_input"], np.float32))).tolist()

rng = np.random.default_rng(0)
p = rng.uniform(0.05, 0.95, size=(4, 3)).astype(np.float32)
p_norm = p / p.sum(axis=1, keepdims=True)
logits = rng.normal(size=(4, 3)).astype(np.float32)
labels = np.array([0, 2, 1, 2], dtype=np.float32)
onehot = np.eye(3, dtype=np.float32)[labels.astype(int)]
bits = (rng.uniform(size=(4, 3)) > 0.5).astype(np.float32)
real = rng.normal(size=(4, 3)).astype(np.float32)
L = keras.losses
losses = [
    ("mean_squared_error", False, p, real, L.MeanSquaredError()(real, p)),
    ("mean_absolute_error", False, p, real, L.MeanAbsoluteError()(real, p)),
    ("binary_crossentropy", False, p, bits, L.BinaryCrossentropy()(bits, p)),
    ("binary_crossentropy", True, logits, bits, L.BinaryCrossentropy(from_logits=True)(bits, logits)),
    ("categorical_crossentropy", False, p_norm, onehot, L.CategoricalCrossentropy()(onehot, p_norm)),
    ("categorical_crossentropy", False, p, onehot, L.CategoricalCrossentropy()(onehot, p)),
    ("categorical_crossentropy", True, logits, onehot, L.CategoricalCrossentropy(from_logits=True)(onehot, logits)),
    ("sparse_categorical_crossentropy", False, p_norm, labels[:, None],
     L.SparseCategoricalCrossentropy()(labels, p_norm)),
    ("sparse_categorical_crossentropy", True, logits, labels[:, None],
     L.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)),
]
reference["losses"] = [
    {"name": n, "from_logits": fl, "predictions": pr.tolist(), "targets": t.tolist(), "value": float(v)}
    for n, fl, pr, t, v in losses
]

# Training: 6 -> 5 (tanh) -> 3 (softmax), 24 samples, batch 8, 2 epochs, no shuffle.
x = rng.normal(size=(24, 6)).astype(np.float32)
y = rng.integers(0, 3, size=(24,)).astype(np.float32)
w0 = [rng.normal(scale=0.5, size=(6, 5)).astype(np.float32), rng.normal(scale=0.1, size=(5,)).astype(np.float32),
      rng.normal(scale=0.5, size=(5, 3)).astype(np.float32), rng.normal(scale=0.1, size=(3,)).astype(np.float32)]
optimizers = {
    "sgd": lambda: keras.optimizers.SGD(learning_rate=0.1),
    "sgd_momentum": lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    "sgd_nesterov": lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
    "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=0.01),
}
reference["training"] = {"x": x.tolist(), "y": y.tolist(), "initial_weights": [w.tolist() for w in w0],
                         "batch_size": 8, "epochs": 2, "runs": {}}
for name, make in optimizers.items():
    model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(5, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    model.set_weights(w0)
    model.compile(optimizer=make(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    reference["training"]["runs"][name] = {
        "weights": [w.astype(float).tolist() for w in model.get_weights()],
        "loss": [float(v) for v in history.history["loss"]],
        "accuracy": [float(v) for v in history.history["accuracy"]],
    }
(out_dir / "keras-reference.json").write_text(json.dumps(reference, indent=1) + "\n")
print("wrote", out_dir)

# --- Optimizers: N steps on fixed gradients (keras-optimizers.json) ------------------------------------------
def optimizer_run(make, steps=4):
    rng_o = np.random.default_rng(5)
    w0 = [rng_o.normal(size=(3, 2)).astype(np.float32), rng_o.normal(size=(2,)).astype(np.float32)]
    grads = [[rng_o.normal(scale=2.0, size=w.shape).astype(np.float32) for w in w0] for _ in range(steps)]
    variables = [keras.Variable(w) for w in w0]
    opt = make()
    trajectory = []
    for g in grads:
        opt.apply_gradients(zip([keras.ops.convert_to_tensor(x) for x in g], variables))
        trajectory.append([np.asarray(v.numpy()).astype(float).ravel().tolist() for v in variables])
    return {"initial": [w.ravel().tolist() for w in w0], "shapes": [list(w.shape) for w in w0],
            "gradients": [[x.ravel().tolist() for x in g] for g in grads], "after_step": trajectory}

O = keras.optimizers
S = keras.optimizers.schedules
optimizer_cases = {
    "sgd": lambda: O.SGD(learning_rate=0.05),
    "sgd_momentum": lambda: O.SGD(learning_rate=0.05, momentum=0.9),
    "sgd_nesterov": lambda: O.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: O.RMSprop(learning_rate=0.01),
    "rmsprop_momentum": lambda: O.RMSprop(learning_rate=0.01, momentum=0.9),
    "rmsprop_centered": lambda: O.RMSprop(learning_rate=0.01, centered=True),
    "rmsprop_momentum_centered": lambda: O.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
    "adagrad": lambda: O.Adagrad(learning_rate=0.1),
    "adam": lambda: O.Adam(learning_rate=0.01),
    "adam_amsgrad": lambda: O.Adam(learning_rate=0.01, amsgrad=True),
    "adamw": lambda: O.AdamW(learning_rate=0.01),
    "nadam": lambda: O.Nadam(learning_rate=0.01),
    "sgd_clipnorm": lambda: O.SGD(learning_rate=0.05, clipnorm=1.0),
    "sgd_global_clipnorm": lambda: O.SGD(learning_rate=0.05, global_clipnorm=1.0),
    "sgd_clipvalue": lambda: O.SGD(learning_rate=0.05, clipvalue=0.5),
    "adam_weight_decay": lambda: O.Adam(learning_rate=0.01, weight_decay=0.1),
    "sgd_exponential_decay": lambda: O.SGD(learning_rate=S.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)),
    "sgd_exponential_staircase": lambda: O.SGD(learning_rate=S.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)),
    "sgd_cosine_decay": lambda: O.SGD(learning_rate=S.CosineDecay(0.1, decay_steps=3, alpha=0.1)),
}
(out_dir / "keras-optimizers.json").write_text(
    json.dumps({name: optimizer_run(make) for name, make in optimizer_cases.items()}, indent=1) + "\n")

# --- BatchNormalization: one training step's outputs and moving statistics, and inference ------------------
bn_x = rng.normal(loc=1.0, scale=2.0, size=(8, 3)).astype(np.float32)
bn = keras.layers.BatchNormalization()
bn.build((None, 3))
bn.set_weights([np.array([1.5, 0.5, 1.0], np.float32), np.array([0.1, -0.2, 0.0], np.float32),
                np.array([0.2, 0.1, -0.1], np.float32), np.array([1.2, 0.8, 1.0], np.float32)])
bn_train = np.asarray(bn(bn_x, training=True))
bn_infer = np.asarray(bn(bn_x, training=False))
(out_dir / "keras-batchnorm.json").write_text(json.dumps({
    "x": bn_x.tolist(), "gamma": [1.5, 0.5, 1.0], "beta": [0.1, -0.2, 0.0],
    "moving_mean": [0.2, 0.1, -0.1], "moving_variance": [1.2, 0.8, 1.0],
    "training_output": bn_train.tolist(),
    "moving_mean_after": np.asarray(bn.moving_mean.numpy()).tolist(),
    "moving_variance_after": np.asarray(bn.moving_variance.numpy()).tolist(),
    "inference_output_after": bn_infer.tolist(),
}, indent=1) + "\n")
print("wrote optimizer and batch-norm fixtures")

# --- Metrics and weighted training (keras-metrics.json) -------------------------------------------------------
mp = rng.uniform(size=(40, 1)).astype(np.float32)
mt = (rng.uniform(size=(40, 1)) < mp * 0.8 + 0.1).astype(np.float32)
metric_values = {}
for name, metric in [("precision", keras.metrics.Precision()), ("recall", keras.metrics.Recall()), ("auc", keras.metrics.AUC())]:
    metric.update_state(mt[:25], mp[:25])
    metric.update_state(mt[25:], mp[25:])   # two batches: counts accumulate
    metric_values[name] = float(metric.result())
kp = rng.uniform(size=(30, 6)).astype(np.float32)
kl = rng.integers(0, 6, size=(30,))
top = keras.metrics.SparseTopKCategoricalAccuracy(k=2)
top.update_state(kl, kp)
metric_values["sparse_top_2"] = float(top.result())
top_onehot = keras.metrics.TopKCategoricalAccuracy(k=3)
top_onehot.update_state(np.eye(6, dtype=np.float32)[kl], kp)
metric_values["top_3"] = float(top_onehot.result())

wx = rng.normal(size=(24, 4)).astype(np.float32)
wy = rng.integers(0, 3, size=(24,)).astype(np.float32)
wsw = rng.uniform(0.2, 2.0, size=(24,)).astype(np.float32)
ww0 = [rng.normal(scale=0.5, size=(4, 3)).astype(np.float32), np.zeros(3, np.float32)]
weighted_runs = {}
for label, kwargs in [("sample_weight", {"sample_weight": wsw}), ("class_weight", {"class_weight": {0: 1.0, 1: 2.0, 2: 0.5}})]:
    wmodel = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    wmodel.set_weights(ww0)
    wmodel.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    whistory = wmodel.fit(wx, wy, batch_size=8, epochs=2, shuffle=False, verbose=0, **kwargs)
    weighted_runs[label] = {"weights": [w.ravel().astype(float).tolist() for w in wmodel.get_weights()],
                            "loss": [float(v) for v in whistory.history["loss"]]}
(out_dir / "keras-metrics.json").write_text(json.dumps({
    "binary_predictions": mp.ravel().tolist(), "binary_targets": mt.ravel().tolist(), "values": metric_values,
    "topk_predictions": kp.tolist(), "topk_labels": kl.tolist(),
    "weighted": {"x": wx.tolist(), "y": wy.tolist(), "sample_weight": wsw.tolist(), "class_weight": [1.0, 2.0, 0.5],
                 "initial_weights": [w.ravel().tolist() for w in ww0], "runs": weighted_runs},
}, indent=1) + "\n")
print("wrote metric fixtures")

# --- Model files written by Keras 2 and Keras 3 (Fixtures/models/) ------------------------------------------------
models_dir = out_dir / "models"
models_dir.mkdir(exist_ok=True)
file_inputs = rng.normal(size=(12, 6)).astype(np.float32)
fx = rng.normal(size=(64, 6)).astype(np.float32)
fy = rng.integers(0, 3, size=(64,))
fyr = rng.normal(size=(64, 2)).astype(np.float32)


def classifier(K):
    return K.Sequential([
        K.layers.Dense(8, activation="relu", input_shape=(6,), kernel_regularizer=K.regularizers.l2(0.01),
                       bias_regularizer=K.regularizers.l1(0.001), kernel_initializer="he_normal"),
        K.layers.BatchNormalization(),
        K.layers.Dropout(0.25),
        K.layers.Dense(5, activation="tanh"),
        K.layers.Dense(3, activation="softmax"),
    ])


def regressor(K):
    return K.Sequential([
        K.layers.Dense(7, input_shape=(6,), kernel_regularizer=K.regularizers.l1_l2(l1=0.01, l2=0.02)),
        K.layers.Activation("gelu" if K is keras else "elu"),
        K.layers.Dense(4, activation="sigmoid", use_bias=False),
        K.layers.Dense(2),
    ])


file_predictions = {}
for kname, K in [("keras2", tf_keras), ("keras3", keras)]:
    for mname, build, target, loss in [("classifier", classifier, fy, "sparse_categorical_crossentropy"),
                                       ("regressor", regressor, fyr, "mse")]:
        K.utils.set_random_seed(3)
        model = build(K)
        model.compile(optimizer=K.optimizers.Adam(learning_rate=0.01), loss=loss,
                      metrics=["accuracy"] if mname == "classifier" else [])
        model.fit(fx, target, epochs=3, batch_size=16, verbose=0)
        model.save(str(models_dir / f"{kname}-{mname}.h5"))
        if K is keras:
            model.save(str(models_dir / f"{kname}-{mname}.keras"))
            model.save_weights(str(models_dir / f"{kname}-{mname}.weights.h5"))
        file_predictions[f"{kname}-{mname}"] = np.asarray(model.predict(file_inputs, verbose=0)).tolist()
(models_dir / "predictions.json").write_text(json.dumps({"inputs": file_inputs.tolist(), "predictions": file_predictions}) + "\n")
print("wrote model files")
