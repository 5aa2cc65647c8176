"""What the zoo holds: each model's builder, the runtime that writes it and its format."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

from conformance import op_libraries


@dataclass(frozen=True)
class ZooModel:
    name: str
    builder: str  # "module:function"; the function takes the export directory (and ``kwargs``)
    writer: str  # runtime id (matrix.yaml) whose TensorFlow writes the files
    format: str
    archive: bool = False  # also write <name>.tar.gz (served on 127.0.0.1 for the URL path)
    kwargs: Dict[str, Any] = field(default_factory=dict, hash=False)
    requires: Tuple[str, ...] = ()  # op libraries (conformance.op_libraries) the builder imports

    @property
    def module(self) -> str:
        return self.builder.split(":")[0]

    @property
    def function(self) -> str:
        return self.builder.split(":")[1]


ZOO = [
    ZooModel("text_embed", "conformance.zoo.tf1_formats:build_text_embed", "tf1.15-graph", "hub_tf1", archive=True),
    ZooModel("image_features", "conformance.zoo.tf1_formats:build_image_features", "tf1.15-graph", "hub_tf1"),
    ZooModel("legacy_saved_model", "conformance.zoo.tf1_formats:build_legacy_saved_model", "tf1.15-graph",
             "saved_model_tf1"),
    ZooModel("hazard", "conformance.zoo.tf1_formats:build_hazard", "tf1.15-graph", "hub_tf1"),
    ZooModel("side_effect", "conformance.zoo.tf1_formats:build_side_effect", "tf1.15-graph", "hub_tf1"),
    ZooModel("reusable_tf1_written", "conformance.zoo.reusable:build_reusable", "tf1.15-eager", "saved_model_v2"),
    ZooModel("reusable_tf2_written", "conformance.zoo.reusable:build_reusable", "tf2.21", "saved_model_v2"),
    # The planted training twin: reusable_tf2_written whose __call__ ignores `training`.
    ZooModel("reusable_training_ignored", "conformance.zoo.reusable:build_reusable", "tf2.21", "saved_model_v2",
             kwargs={"ignore_training": True}),
    # And one that exports no regularization_losses: a Keras model fine-tuning it loses its L2 term.
    ZooModel("reusable_regularization_dropped", "conformance.zoo.reusable:build_reusable", "tf2.21",
             "saved_model_v2", kwargs={"drop_regularization": True}),
    # The planted change: reusable_tf1_written with one weight multiplied by (1 + 1e-4).
    ZooModel("reusable_planted", "conformance.zoo.reusable:build_reusable", "tf1.15-eager", "saved_model_v2",
             kwargs={"scale_weight": 1.0001}),
    ZooModel("gpu_pinned", "conformance.zoo.tf1_formats:build_gpu_pinned", "tf1.15-graph", "saved_model_tf1"),
    ZooModel("no_shape_info", "conformance.zoo.tf1_formats:build_no_shape_info", "tf1.15-graph", "saved_model_tf1"),
    # TF Serving / Estimator-style exports: serialized tf.Example inputs parsed in the graph.
    ZooModel("estimator_tf1", "conformance.zoo.serving:build_estimator_tf1", "tf1.15-graph", "saved_model_tf1"),
    ZooModel("serving_tf2", "conformance.zoo.serving:build_serving_tf2", "tf2.15-eager", "saved_model_v2"),
    # Keras exports: tf.saved_model.save(keras_model) (dict inputs, training as a Python bool) and model.export().
    ZooModel("keras_saved", "conformance.zoo.keras_exports:build_keras_saved", "tf2.15-eager", "saved_model_v2"),
    ZooModel("keras_export", "conformance.zoo.keras_exports:build_keras_export", "tf2.21", "saved_model_v2"),
    # Signatures real exports have: composite inputs, a reference-typed output, a fixed batch of 1, unknown rank.
    ZooModel("composite_tf2", "conformance.zoo.composite:build_composite_tf2", "tf2.15-eager", "saved_model_v2"),
    ZooModel("sparse_tf1", "conformance.zoo.tf1_signatures:build_sparse_tf1", "tf1.15-graph", "saved_model_tf1"),
    ZooModel("reference_output", "conformance.zoo.tf1_signatures:build_reference_output", "tf1.15-graph",
             "saved_model_tf1"),
    ZooModel("batch_one", "conformance.zoo.tf1_signatures:build_batch_one", "tf1.15-graph", "saved_model_tf1"),
    ZooModel("unknown_rank", "conformance.zoo.tf1_signatures:build_unknown_rank", "tf1.15-graph",
             "saved_model_tf1"),
    # Shapes of real exports, each listed in matrix.yaml as one line (id + handle).
    ZooModel("elementwise_module", "conformance.zoo.real_exports:build_elementwise_module", "tf1.15-graph",
             "hub_tf1"),
    ZooModel("serve_train_graph", "conformance.zoo.real_exports:build_serve_train_graph", "tf1.15-graph",
             "saved_model_tf1"),
    ZooModel("no_serving_default", "conformance.zoo.real_exports:build_no_serving_default", "tf1.15-graph",
             "saved_model_tf1"),
    ZooModel("fixed_batch", "conformance.zoo.real_exports:build_fixed_batch", "tf1.15-graph", "saved_model_tf1"),
    ZooModel("varlen_serving", "conformance.zoo.real_exports:build_varlen_serving", "tf1.15-graph",
             "saved_model_tf1"),
    ZooModel("dead_input", "conformance.zoo.real_exports_tf2:build_dead_input", "tf2.15-eager", "saved_model_v2"),
    ZooModel("sparse_triplets", "conformance.zoo.real_exports_tf2:build_sparse_triplets", "tf2.15-eager",
             "saved_model_v2"),
    ZooModel("keras_two_inputs", "conformance.zoo.real_exports_tf2:build_keras_two_inputs", "tf2.15-eager",
             "saved_model_v2"),
    ZooModel("no_trainable", "conformance.zoo.real_exports_tf2:build_no_trainable", "tf2.15-eager",
             "saved_model_v2"),
    ZooModel("stateful_counter", "conformance.zoo.real_exports_tf2:build_stateful_counter", "tf2.15-eager",
             "saved_model_v2"),
    ZooModel("train_step_signature", "conformance.zoo.real_exports_tf2:build_train_step_signature", "tf2.15-eager",
             "saved_model_v2"),
    # Needs tensorflow-text (matrix.yaml: requires), which the writer runtime installs with it.
    ZooModel("text_ops", "conformance.zoo.op_library_models:build_text_ops", "tf2.15-eager", "saved_model_v2",
             requires=("tensorflow-text",)),
]  # type: List[ZooModel]


def by_name(name: str) -> ZooModel:
    for model in ZOO:
        if model.name == name:
            return model
    raise KeyError("no zoo model %r (the zoo has: %s)" % (name, ", ".join(m.name for m in ZOO)))


def _source(module: str) -> bytes:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise ImportError("zoo builder module %r not found" % module)
    with open(spec.origin, "rb") as stream:
        return stream.read()


def writer_pins(model: ZooModel, writer: Any) -> List[str]:
    """What the writer runtime installs to build ``model``: its TensorFlow, tensorflow-hub and extras, and the
    build of each op library the builder imports (not those other models of the matrix require)."""
    builds = [op_libraries.by_name(name).build_for(writer.tensorflow_version) for name in model.requires]
    missing = [name for name, build in zip(model.requires, builds) if build is None]
    if missing:
        raise ValueError("zoo model %s needs %s, which publishes no build for %s's TensorFlow"
                         % (model.name, ", ".join(missing), writer.id))
    return [writer.tensorflow, writer.tensorflow_hub] + list(writer.extras) + [b for b in builds if b]


def build_hash(model: ZooModel, writer_requirements: List[str]) -> str:
    """Changes whenever the builder's code, arguments or the writer's pinned packages change."""
    digest = hashlib.sha256(_source(model.module))
    digest.update(json.dumps([model.name, model.builder, model.writer, model.format, sorted(model.kwargs.items()),
                              sorted(writer_requirements)]).encode("utf-8"))
    return digest.hexdigest()[:16]


def default_zoo_dir(root: str) -> str:
    return os.environ.get("CONFORMANCE_ZOO_DIR") or os.path.join(root, ".zoo")
