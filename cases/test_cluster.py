"""The TF Hub migration guide's parameter-server case: a TF2 SavedModel trained with its variables on a
parameter server (a TF1 Session on a ``{ps, worker}`` loopback cluster) needs ``share_cluster_devices_in_session``
in the session's ConfigProto. ``cluster[<model>-<runtime>-cpu-<api>-unshared|shared]`` runs one SGD step in
a TF1 Session without and with the flag, ``...-estimator-unshared|shared`` two steps of an Estimator's
``train_and_evaluate`` (where tf.estimator exists), all of a model in one process group that ends with it.
The case functions are the registered checks' (conformance/checks/): this file collects every runtime check
whose declaration names it (``cluster`` today), as ``test_<check>``."""
from conformance.checks.registry import case_functions

globals().update(case_functions(__name__))
