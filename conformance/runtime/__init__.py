"""The TensorFlow side: the only package (with conformance.zoo builders) that imports tensorflow."""
