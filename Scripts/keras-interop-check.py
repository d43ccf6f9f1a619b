#!/usr/bin/env python3
"""Loads model files written by MLPKit with real Keras and prints Keras' predictions as JSON.

Usage: keras-interop-check.py INPUTS.json FILE...   (INPUTS.json: {"inputs": [[...], ...]})
For each .h5 file: Keras 3 (keras.models.load_model) and Keras 2 (tf_keras.models.load_model); for each .keras
file: Keras 3. Prints {"<loader> <file>": [[...], ...] or {"error": "..."}}. Run by MLPKit's interop test.
"""
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np

inputs = np.asarray(json.load(open(sys.argv[1]))["inputs"], dtype=np.float32)
results = {}
import keras
import tf_keras
for path in sys.argv[2:]:
    loaders = [("keras3", keras.models.load_model)]
    if path.endswith(".h5"):
        loaders.append(("keras2", tf_keras.models.load_model))
    for name, load in loaders:
        key = f"{name} {os.path.basename(path)}"
        try:
            model = load(path)
            results[key] = np.asarray(model.predict(inputs, verbose=0)).astype(float).tolist()
        except Exception as error:  # reported, and the Swift test fails on it
            results[key] = {"error": f"{type(error).__name__}: {error}"}
print(json.dumps(results))
