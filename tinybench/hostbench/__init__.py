"""`tinybench hostbench`: the MLPerf Inference scenarios, generated and timed by MLPerf's own LoadGen
(PyPI `mlcommons-loadgen`, module `mlperf_loadgen`), against one system under test.

    samples.py   the query sample library: an eval set in the MLPerf Tiny format (or random inputs
                 when asked), turned into model inputs as the DUT turns its db buffer into them
    systems.py   the systems under test, one interface: LiteRT, tflite-micro, tinybench's compiled
                 C engine as a host shared library, and a DUT over serial
    loadgen.py   TestSettings from the options, the LoadGen run, and the accuracy log scored with
                 the benchmark's metric

Each run writes LoadGen's own files (mlperf_log_summary.txt, mlperf_log_detail.txt,
mlperf_log_accuracy.json) into `<out>/<system>/<model>/hostbench-<scenario>/<mode>/`, beside a
hostbench.json that says what ran, and (accuracy mode) accuracy.txt; `tinybench report` reads them.
"""
from tinybench.hostbench.loadgen import MODES, SCENARIOS, Settings, run  # noqa: F401
from tinybench.hostbench.systems import SYSTEMS  # noqa: F401
