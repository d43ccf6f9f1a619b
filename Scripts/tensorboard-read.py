#!/usr/bin/env python3
"""Reads a TensorBoard log folder with TensorBoard's own EventAccumulator and prints what it found as JSON:
per run, the scalar tags with (step, value) lists, histogram tags with (step, count of values, bucket count sum),
tensor tags (text summaries, decoded), whether a graph is present and its node names.
Usage: tensorboard-read.py LOGDIR. Run by MLPKit's TensorBoard interop test."""
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

result = {}
for run in sorted(os.listdir(sys.argv[1])):
    path = os.path.join(sys.argv[1], run)
    if not os.path.isdir(path) or run == "embeddings":
        continue
    acc = EventAccumulator(path, size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    entry = {"scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags.get("scalars", [])},
             "histograms": {t: [[e.step, e.histogram_value.num, sum(e.histogram_value.bucket)] for e in acc.Histograms(t)]
                            for t in tags.get("histograms", [])},
             "tensors": {}, "graph": bool(tags.get("graph")), "graph_nodes": []}
    for t in tags.get("tensors", []):
        values = []
        for e in acc.Tensors(t):
            array = tensor_util.make_ndarray(e.tensor_proto)
            values.append(array.item().decode() if array.dtype.kind in "OSU" else float(array))
        entry["tensors"][t] = values
    if entry["graph"]:
        entry["graph_nodes"] = [n.name for n in acc.Graph().node]
    result[run] = entry
projector = os.path.join(sys.argv[1], "projector_config.pbtxt")
if os.path.exists(projector):
    from google.protobuf import text_format
    from tensorboard.plugins.projector import projector_config_pb2
    config = text_format.Parse(open(projector).read(), projector_config_pb2.ProjectorConfig())
    result["projector"] = [{"tensor_name": e.tensor_name, "tensor_path": e.tensor_path, "metadata_path": e.metadata_path,
                            "shape": list(e.tensor_shape)} for e in config.embeddings]
print(json.dumps(result))
