"""The lowered form of a graph: one Step per kernel call.

A Step is everything both back ends need: the C emitter turns it into
`tb_<kernel>(&params, inputs..., constants..., outputs...)` with `params` as a `const <params_type>`
struct (field names are the dict keys; numpy arrays become `const` arrays the struct points to),
and the numpy golden executor calls the Python kernel of the same name with the same params.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Step:
    op_index: int                 # index of the operator in the .tflite graph
    opcode: str                   # TFLite builtin name, e.g. "CONV_2D"
    kernel: str                   # C function is tb_<kernel>, e.g. "conv2d_s8"
    params_type: str | None       # C struct type passed by pointer as the first argument
    params: dict = field(default_factory=dict)   # field -> int | float | np.ndarray
    inputs: list[int] = field(default_factory=list)     # activation tensors, in argument order
    constants: list[int] = field(default_factory=list)  # constant tensors (-1: NULL), after inputs
    outputs: list[int] = field(default_factory=list)
    in_place: bool = False        # the output may occupy its first input's memory (RESHAPE)
    macs: int = 0
    scratch_bytes: int = 0        # working memory the kernel needs during the call (an im2col
                                  # column); the emitter passes it as params.scratch

    def array_params(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.params.items() if isinstance(v, np.ndarray)}
