"""Reading int8 TFLite flatbuffers into a small, plain graph description.

The flatbuffer is decoded with the schema bindings that ship with ai-edge-litert; everything the
rest of tinybench needs (the inspector, the compiler) reads the `Graph` built here, never the
flatbuffer itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinybench.errors import UserError

TFLITE_IDENTIFIER = b"TFL3"

# TensorType enum of the TFLite schema -> numpy dtype (only the types a TinyML graph carries).
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_,
           7: np.int16, 9: np.int8, 10: np.float64}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT",
                6: "SIGMOID"}
_PADDINGS = {0: "SAME", 1: "VALID"}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: np.ndarray | None = None        # float32 per tensor (1 value) or per channel
    zero_point: np.ndarray | None = None   # int64, same length as scale
    quantized_dimension: int = 0
    data: np.ndarray | None = None         # constant tensors only (weights, biases, shapes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def per_channel(self) -> bool:
        return self.scale is not None and len(self.scale) > 1

    def quantization_text(self) -> str:
        if self.scale is None:
            return "-"
        if self.per_channel:
            return f"per-channel ({len(self.scale)} scales, axis {self.quantized_dimension})"
        return f"scale {float(self.scale[0]):.8g} zp {int(self.zero_point[0])}"


@dataclass
class Operator:
    index: int
    opcode: str                 # TFLite builtin name, e.g. "CONV_2D"
    inputs: list[int]           # tensor indices; -1 marks an omitted optional input
    outputs: list[int]
    options: dict = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    description: str = ""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    @property
    def input(self) -> Tensor:
        return self.tensors[self.inputs[0]]

    @property
    def output(self) -> Tensor:
        return self.tensors[self.outputs[0]]


def _schema():
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:  # pragma: no cover - depends on the install
        raise UserError("reading .tflite files needs ai-edge-litert: "
                        "pip install 'tinybench[runtime]'") from None
    return schema_py_generated


def _snake(name: str) -> str:
    out = []
    for ch in name:
        if ch.isupper():
            out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def _options_dict(options) -> dict:
    """Builtin options object -> dict with snake_case keys and readable enum values."""
    if options is None:
        return {}
    result = {}
    for key, value in vars(options).items():
        key = _snake(key)
        if key == "fused_activation_function":
            value = _ACTIVATIONS.get(value, f"unknown({value})")
        elif key == "padding":
            value = _PADDINGS.get(value, f"unknown({value})")
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        result[key] = value
    return result


def _opcode_names(schema) -> dict[int, str]:
    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def read_graph(source: str | Path | bytes) -> Graph:
    """Decode a .tflite file (a path or its bytes) into a Graph.

    Raises UserError for anything that is not a complete, single-subgraph TFLite model.
    """
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), "model"
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        data, label = path.read_bytes(), str(path)
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise UserError(f"{label}: not a TFLite model (the file identifier 'TFL3' is missing)")
    schema = _schema()
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
        graph = _convert(model, data, schema)
    except UserError:
        raise
    except Exception as exc:  # the flatbuffer decoder fails in many ways on damaged input
        raise UserError(f"{label}: the TFLite flatbuffer is truncated or corrupt "
                        f"({type(exc).__name__}: {exc}); re-export or re-download the model") from None
    return graph


def _convert(model, data: bytes, schema) -> Graph:
    if not model.subgraphs:
        raise UserError("the model has no subgraph")
    if len(model.subgraphs) > 1:
        raise UserError(f"the model has {len(model.subgraphs)} subgraphs; tinybench supports "
                        f"single-subgraph models (no control flow)")
    sub = model.subgraphs[0]
    names = _opcode_names(schema)
    buffers = model.buffers or []

    tensors = []
    for i, t in enumerate(sub.tensors or []):
        if t.type not in _DTYPES:
            raise UserError(f"tensor {i} has an unsupported type (TensorType {t.type})")
        dtype = np.dtype(_DTYPES[t.type])
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        tensor = Tensor(i, t.name.decode(errors="replace") if t.name else f"t{i}", shape, dtype)
        q = t.quantization
        if q is not None and q.scale is not None and len(q.scale):
            tensor.scale = np.asarray(q.scale, dtype=np.float32)
            zp = q.zeroPoint if q.zeroPoint is not None else np.zeros(len(q.scale))
            tensor.zero_point = np.asarray(zp, dtype=np.int64)
            tensor.quantized_dimension = int(q.quantizedDimension)
        if 0 < t.buffer < len(buffers):
            raw = _buffer_bytes(buffers[t.buffer], data)
            if raw is not None and len(raw):
                if len(raw) != tensor.nbytes:
                    raise UserError(f"tensor {i} ({tensor.name}) holds {len(raw)} bytes but its "
                                    f"shape {shape} needs {tensor.nbytes}")
                tensor.data = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        tensors.append(tensor)

    operators = []
    for i, op in enumerate(sub.operators or []):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        opcode = names.get(builtin, f"BUILTIN_{builtin}")
        if opcode == "CUSTOM":
            opcode = "CUSTOM:" + (code.customCode or b"?").decode(errors="replace")
        operators.append(Operator(
            index=i, opcode=opcode,
            inputs=[int(x) for x in (op.inputs if op.inputs is not None else [])],
            outputs=[int(x) for x in (op.outputs if op.outputs is not None else [])],
            options=_options_dict(op.builtinOptions)))
        for t in operators[-1].inputs + operators[-1].outputs:
            if t >= len(tensors):
                raise UserError(f"operator {i} ({opcode}) refers to tensor {t}, "
                                f"but the model has only {len(tensors)}")

    description = model.description.decode(errors="replace") if model.description else ""
    return Graph(tensors, operators, [int(x) for x in sub.inputs], [int(x) for x in sub.outputs],
                 description)


def _buffer_bytes(buffer, data: bytes) -> bytes | None:
    if buffer.data is not None and len(buffer.data):
        return np.asarray(buffer.data, dtype=np.uint8).tobytes()
    if buffer.offset and buffer.size:  # large models keep buffers after the flatbuffer
        end = buffer.offset + buffer.size
        if end > len(data):
            raise UserError("a weight buffer lies beyond the end of the file (truncated model)")
        return data[buffer.offset:end]
    return None


def macs_of(graph: Graph, op: Operator) -> int:
    """Multiply-accumulates of one operator (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED)."""
    out = graph.tensor(op.outputs[0])
    if op.opcode == "CONV_2D":
        w = graph.tensor(op.inputs[1]).shape  # [out_c, kh, kw, in_c]
        return out.size * w[1] * w[2] * w[3]
    if op.opcode == "DEPTHWISE_CONV_2D":
        w = graph.tensor(op.inputs[1]).shape  # [1, kh, kw, out_c]
        return out.size * w[1] * w[2]
    if op.opcode == "FULLY_CONNECTED":
        w = graph.tensor(op.inputs[1]).shape  # [out, in]
        return out.size * w[1]
    return 0


def total_macs(graph: Graph) -> int:
    return sum(macs_of(graph, op) for op in graph.operators)


def op_counts(graph: Graph) -> dict[str, int]:
    """How many operators of each opcode, in order of first appearance."""
    counts: dict[str, int] = {}
    for op in graph.operators:
        counts[op.opcode] = counts.get(op.opcode, 0) + 1
    return counts


def parameter_count(graph: Graph) -> int:
    """Elements of all constant tensors (weights, biases and shape operands)."""
    return sum(t.size for t in graph.tensors if t.is_constant)
