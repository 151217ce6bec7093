"""The memory planner: it meets the RAM targets on the official models, its plans survive a
byte-level emulated run, and `verify` rejects plans that would corrupt a tensor."""
from __future__ import annotations

import copy
import dataclasses
import hashlib

import numpy as np
import pytest

from tinybench import benchmarks, tflm
from tinybench.compiler import lower, planner
from tinybench.compiler.ir import Step
from tinybench.compiler.planner import PlanError
from tinybench.tflite import Graph, Tensor, read_graph

VWW01_TARGET_BYTES = 60 * 1024   # the target for vww01 (TFLM needs 103,680)
BENCH_IDS = list(benchmarks.BENCHMARKS)


# ---- helpers ---------------------------------------------------------------------------------------

def synthetic(sizes: list[int], ops: list[tuple], inputs=(0,), outputs=None) -> tuple[Graph, list]:
    """A graph of int8 vectors: ops are (opcode, [inputs], [outputs], in_place)."""
    tensors = [Tensor(i, f"t{i}", (n,), np.dtype(np.int8)) for i, n in enumerate(sizes)]
    steps = [Step(i, opcode, opcode.lower(), None, inputs=list(ins), outputs=list(outs),
                  in_place=in_place)
             for i, (opcode, ins, outs, in_place) in enumerate(ops)]
    outputs = list(outputs) if outputs is not None else [ops[-1][2][0]]
    return Graph(tensors, [], list(inputs), outputs), steps


def emulate(graph: Graph, steps: list[Step], plan) -> None:
    """Run the schedule on a real byte arena and compare every value read with a run that gives each
    tensor its own buffer. An ordinary step first scribbles over its output (as a kernel may) and only
    then reads its inputs, so any overlap of output and input shows up as a wrong value; an in-place
    step placed exactly on its first input works elementwise, as the in-place kernels do."""
    rng = np.random.default_rng(0)
    reference = {t: rng.integers(0, 256, graph.tensor(t).nbytes, dtype=np.uint8)
                 for t in graph.inputs}
    arena = np.zeros(plan.arena_bytes, dtype=np.uint8)

    def view(t):
        return arena[plan.offsets[t]:plan.offsets[t] + graph.tensor(t).nbytes]

    for t in graph.inputs:
        view(t)[:] = reference[t]
    for s, step in enumerate(steps):
        out = step.outputs[0]
        size = graph.tensor(out).nbytes
        elementwise = (step.in_place and plan.offsets[out] == plan.offsets[step.inputs[0]]
                       and size <= graph.tensor(step.inputs[0]).nbytes)
        if not elementwise:
            for o in step.outputs:
                view(o)[:] = (0xA5 + s) & 0xFF
        values = [view(t).copy() for t in step.inputs]
        for t, got in zip(step.inputs, values):
            assert np.array_equal(got, reference[t]), f"step {s} read a corrupted tensor {t}"
        for o in step.outputs:
            n = graph.tensor(o).nbytes
            if elementwise:    # like ADD / RESHAPE: byte i of the output from byte i of the inputs
                result = sum(v[:n].astype(np.uint16) for v in values) + s
            else:              # like a convolution: every output byte depends on every input byte
                digest = hashlib.sha256(b"".join(v.tobytes() for v in values) + bytes([s, o % 256]))
                result = np.random.default_rng(list(digest.digest()[:8])).integers(0, 256, n)
            reference[o] = (np.asarray(result) & 0xFF).astype(np.uint8)
            view(o)[:] = reference[o]
    for t in graph.outputs:
        assert np.array_equal(view(t), reference[t]), f"graph output {t} was corrupted"


def random_graph(rng: np.random.Generator) -> tuple[Graph, list]:
    """A random DAG of conv-like, reshape-like (in place) and add-like (in place) steps."""
    n_inputs = int(rng.integers(1, 3))
    sizes = [int(rng.integers(1, 400)) for _ in range(n_inputs)]
    ops = []
    for _ in range(int(rng.integers(2, 14))):
        out = len(sizes)
        kind = rng.integers(3)
        if kind == 0:       # reshape: same bytes, in place
            src = int(rng.integers(out))
            sizes.append(sizes[src])
            ops.append(("RESHAPE", [src], [out], True))
        elif kind == 1:     # add of two same-sized tensors, in place on the first
            a = int(rng.integers(out))
            same = [t for t in range(out) if sizes[t] == sizes[a] and t != a]
            b = int(rng.choice(same)) if same else a
            sizes.append(sizes[a])
            ops.append(("ADD", [a, b], [out], True))
        else:               # a layer reading one to three earlier tensors
            ins = sorted({int(t) for t in rng.integers(0, out, int(rng.integers(1, 4)))})
            sizes.append(int(rng.integers(1, 400)))
            ops.append(("CONV_2D", ins, [out], False))
    produced = [o for _, _, outs, _ in ops for o in outs]
    outputs = sorted({produced[-1], int(rng.choice(produced))})
    return synthetic(sizes, ops, inputs=range(n_inputs), outputs=outputs)


@pytest.fixture(scope="module")
def official(official_model):
    """official(bench_id) -> (graph, steps, plan) through the real lowering."""
    cache = {}

    def get(bench_id):
        if bench_id not in cache:
            graph = read_graph(official_model(bench_id))
            steps = lower.lower(graph)
            cache[bench_id] = (graph, steps, planner.plan(graph, steps))
        return cache[bench_id]
    return get


# ---- the official models ---------------------------------------------------------------------------

@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_official_model_arena_beats_tflm_and_reaches_the_busiest_step(official, official_model,
                                                                      bench_id):
    graph, steps, plan = official(bench_id)
    assert plan.arena_bytes <= tflm.arena_bytes(official_model(bench_id))
    # No placement can go below the bytes live at the busiest step: we reach that floor.
    assert plan.arena_bytes == plan.live_bound
    if bench_id == "vww01":
        assert plan.arena_bytes <= VWW01_TARGET_BYTES


@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_official_model_plan_survives_an_emulated_run(official, bench_id):
    graph, steps, plan = official(bench_id)
    assert set(plan.offsets) >= {t for s in steps for t in s.inputs + s.outputs}
    assert all(offset % 16 == 0 for offset in plan.offsets.values())
    emulate(graph, steps, plan)


def test_ic01_residual_adds_reuse_their_first_input(official):
    graph, steps, plan = official("ic01")
    adds = [s for s in steps if s.opcode == "ADD"]
    assert len(adds) == 3
    for step in adds:
        assert plan.offsets[step.outputs[0]] == plan.offsets[step.inputs[0]]
        assert plan.aliases[step.outputs[0]] == step.inputs[0]


def test_single_layer_bound_of_vww01_is_its_widest_pointwise_conv(official):
    graph, _, _ = official("vww01")
    # 48x48x8 in, 48x48x16 out (the second layer pair of MobileNetV1-0.25 at 96x96)
    assert planner.single_layer_bound(graph) == 48 * 48 * 8 + 48 * 48 * 16


def test_memory_report_lists_every_step_and_marks_the_busiest(official):
    graph, steps, plan = official("vww01")
    report = planner.memory_report(graph, steps, plan)
    rows = [line for line in report.splitlines() if line[:4].strip().isdigit()]
    assert len(rows) == len(steps)
    starred = [row for row in rows if row[4] == "*"]
    assert len(starred) == 1 and f"{plan.live_bound:,}" in starred[0]
    assert f"{plan.arena_bytes:,} bytes" in report.splitlines()[0]


# ---- verify catches broken plans -------------------------------------------------------------------

def _broken(plan, **offsets):
    bad = copy.deepcopy(plan)
    bad.offsets.update({int(k[1:]): v for k, v in offsets.items()})
    return bad


def test_verify_rejects_an_output_written_over_the_input_it_reads(official):
    graph, steps, plan = official("vww01")
    step = steps[1]                                  # a depthwise conv, not in place
    bad = _broken(plan, **{f"t{step.outputs[0]}": plan.offsets[step.inputs[0]]})
    with pytest.raises(PlanError, match="still reads"):
        planner.verify(graph, steps, bad)


def test_verify_rejects_overwriting_a_skip_connection(official):
    graph, steps, plan = official("ic01")
    add = next(s for s in steps if s.opcode == "ADD")
    skip = add.inputs[0]                             # written long before the ADD reads it
    between = next(s for s in steps[:steps.index(add)] if skip not in s.inputs + s.outputs)
    bad = _broken(plan, **{f"t{between.outputs[0]}": plan.offsets[skip]})
    with pytest.raises(PlanError, match="later step"):
        planner.verify(graph, steps, bad)


def test_verify_needs_the_in_place_flag_to_share_bytes(official):
    graph, steps, plan = official("ic01")
    planner.verify(graph, steps, plan)
    not_in_place = [dataclasses.replace(s, in_place=False) for s in steps]
    with pytest.raises(PlanError, match="still reads"):
        planner.verify(graph, not_in_place, plan)


def test_verify_rejects_a_too_small_arena_and_misaligned_or_missing_offsets(official):
    graph, steps, plan = official("kws01")
    small = copy.deepcopy(plan)
    small.arena_bytes -= 16
    with pytest.raises(PlanError, match="outside"):
        planner.verify(graph, steps, small)
    some = steps[3].outputs[0]
    with pytest.raises(PlanError, match="multiple of 16"):
        planner.verify(graph, steps, _broken(plan, **{f"t{some}": plan.offsets[some] + 4}))
    missing = copy.deepcopy(plan)
    del missing.offsets[some]
    with pytest.raises(PlanError, match="no offset"):
        planner.verify(graph, steps, missing)


def test_verify_protects_a_graph_output_made_before_the_last_step():
    # t1 is a graph output produced at step 0; step 1 must not write over it.
    graph, steps = synthetic([32, 32, 32], [("CONV_2D", [0], [1], False),
                                            ("CONV_2D", [0], [2], False)], outputs=[1, 2])
    plan = planner.plan(graph, steps)
    assert plan.offsets[1] != plan.offsets[2]
    with pytest.raises(PlanError, match="graph output"):
        planner.verify(graph, steps, _broken(plan, t2=plan.offsets[1]))


# ---- the planner on its own ------------------------------------------------------------------------

def test_in_place_is_refused_while_the_input_is_still_needed():
    # t1 = reshape(t0) in place, but t0 is read again by step 1: they must not share bytes.
    graph, steps = synthetic([64, 64, 16], [("RESHAPE", [0], [1], True),
                                            ("ADD", [0, 1], [2], False)])
    plan = planner.plan(graph, steps)
    assert plan.aliases == {}
    assert plan.offsets[0] != plan.offsets[1]
    emulate(graph, steps, plan)


def test_in_place_chain_shares_one_buffer():
    graph, steps = synthetic([48, 48, 48, 16], [("RESHAPE", [0], [1], True),
                                                ("RESHAPE", [1], [2], True),
                                                ("CONV_2D", [2], [3], False)])
    plan = planner.plan(graph, steps)
    assert plan.offsets[0] == plan.offsets[1] == plan.offsets[2]
    assert plan.arena_bytes == 48 + 16
    emulate(graph, steps, plan)


def test_steps_that_read_before_writing_are_refused():
    graph, steps = synthetic([16, 16, 16], [("CONV_2D", [2], [1], False)])
    with pytest.raises(PlanError, match="before any step writes it"):
        planner.plan(graph, steps)
    graph, steps = synthetic([16, 16], [("CONV_2D", [0], [1], False),
                                        ("CONV_2D", [0], [1], False)])
    with pytest.raises(PlanError, match="already has a value"):
        planner.plan(graph, steps)


def test_random_graphs_get_safe_plans_no_larger_than_needed():
    rng = np.random.default_rng(2024)
    for _ in range(300):
        graph, steps = random_graph(rng)
        plan = planner.plan(graph, steps)          # runs verify
        emulate(graph, steps, plan)
        touched = set(plan.offsets)
        assert plan.live_bound <= plan.arena_bytes
        assert plan.arena_bytes <= sum(planner.align(graph.tensor(t).nbytes) for t in touched)


def test_plans_for_generated_models_survive_an_emulated_run(request):
    import modelgen
    cache = modelgen.pytest_cache_dir(request.config)
    for kind in ("residual", "reshape", "pad", "pooling", "mixed"):
        graph = read_graph(modelgen.generate(0, kind, cache_dir=cache))
        if graph.input.dtype != np.int8:
            continue
        steps = lower.lower(graph)
        emulate(graph, steps, planner.plan(graph, steps))
