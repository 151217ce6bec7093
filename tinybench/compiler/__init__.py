"""The model compiler: int8 .tflite -> lowered steps -> memory plan -> C code for the firmware.

    tflite.read_graph  ->  lower.lower (Steps)  ->  planner.plan (arena offsets)  ->  emit_c.emit
                                              \\->  golden.run (numpy executor, the golden model)
"""
