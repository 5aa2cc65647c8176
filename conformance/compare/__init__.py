"""The comparison side: plain Python + numpy, no TensorFlow. Reads the observations the runtimes wrote."""
