"""The static memory planner: one arena holds every activation tensor, at offsets fixed at compile time.

A tensor is live from the step that produces it (a graph input from the start) to the last step that
reads it (a graph output to the end). Tensors whose lifetimes overlap get disjoint byte ranges;
tensors that are never live together may share bytes. An in-place step (RESHAPE, an elementwise ADD
whose first input dies there) writes its output over its first input, so the two become one buffer.

Placement is a packing problem with fixed lifetimes: the buffers are placed one by one, each at the
lowest 16-byte-aligned offset (or into the tightest gap) clear of the already-placed buffers it is live
with. The order matters, so several orders are tried and the smallest arena wins. `verify` checks a
plan by simulating the schedule byte by byte, independently of how the plan was made.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinybench.compiler.ir import Step
from tinybench.tflite import Graph

ALIGNMENT = 16
"""Every tensor starts on a 16-byte boundary: SIMD loads and int32 tensors stay aligned."""


class PlanError(Exception):
    """The steps cannot be planned (a tensor read before it is written), or a plan is unsafe. Either
    way a bug in the compiler, not something the user did."""


def align(n: int) -> int:
    return -(-n // ALIGNMENT) * ALIGNMENT


@dataclass
class Plan:
    offsets: dict[int, int]              # activation tensor -> byte offset in the arena
    arena_bytes: int                     # total arena size (a multiple of ALIGNMENT)
    lifetimes: dict[int, tuple[int, int]]  # tensor -> (first step, last step), both inclusive
    aliases: dict[int, int]              # in-place output -> the input whose bytes it took
    live_bytes: list[int]                # per step: aligned bytes of the tensors live at that step
    peak_step: int                       # the step with the most live bytes
    strategy: str                        # which placement order won
    tried: dict[str, int] = field(default_factory=dict)  # placement order -> arena bytes

    @property
    def live_bound(self) -> int:
        """No placement of this schedule can use less than the bytes live at its busiest step."""
        return max(self.live_bytes, default=0)


def single_layer_bound(graph: Graph) -> int:
    """The largest sum of one operator's activation inputs and outputs: the floor for any planner that
    keeps a layer's inputs and outputs apart."""
    best = 0
    for op in graph.operators:
        tensors = {t for t in op.inputs + op.outputs if t >= 0 and not graph.tensor(t).is_constant}
        best = max(best, sum(graph.tensor(t).nbytes for t in tensors))
    return best


def lifetimes(graph: Graph, steps: list[Step]) -> dict[int, tuple[int, int]]:
    """(first, last) step of every activation tensor the steps or the graph's inputs/outputs touch."""
    last_step = max(len(steps) - 1, 0)
    first: dict[int, int] = {t: 0 for t in graph.inputs}
    last: dict[int, int] = {t: 0 for t in graph.inputs}
    for s, step in enumerate(steps):
        for t in step.inputs:
            if t < 0 or graph.tensor(t).is_constant:
                raise PlanError(f"step {s} ({step.opcode}) lists tensor {t} as an activation input")
            if t not in first:
                raise PlanError(f"step {s} ({step.opcode}) reads tensor {t} "
                                f"({graph.tensor(t).name}) before any step writes it")
            last[t] = s
        for t in step.outputs:
            if t in first:
                raise PlanError(f"step {s} ({step.opcode}) writes tensor {t} "
                                f"({graph.tensor(t).name}), which already has a value")
            first[t] = last[t] = s
    for t in graph.outputs:
        if t not in first:
            raise PlanError(f"no step writes the graph output tensor {t} ({graph.tensor(t).name})")
        last[t] = last_step
    return {t: (first[t], last[t]) for t in first}


@dataclass
class _Buffer:
    """One or more tensors sharing the same bytes (an in-place chain), placed as a unit."""
    tensors: list[int]
    size: int
    first: int
    last: int
    offset: int = -1

    def live_with(self, other: "_Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last


def _buffers(graph: Graph, steps: list[Step], life: dict[int, tuple[int, int]]):
    """Group tensors into buffers, merging each honoured in-place output with its first input."""
    group_of = {t: [t] for t in life}
    aliases = {}
    for s, step in enumerate(steps):
        if not (step.in_place and step.inputs and step.outputs):
            continue
        source, out = step.inputs[0], step.outputs[0]
        dies_here = life[source][1] == s and source not in graph.outputs
        fits = graph.tensor(out).nbytes <= graph.tensor(source).nbytes
        if dies_here and fits:
            group = group_of[source]
            group.append(out)
            group_of[out] = group
            aliases[out] = source
    buffers, seen = [], set()
    for t in life:
        group = group_of[t]
        if id(group) in seen:
            continue
        seen.add(id(group))
        buffers.append(_Buffer(
            tensors=list(group),
            size=max(align(graph.tensor(m).nbytes) for m in group),
            first=min(life[m][0] for m in group),
            last=max(life[m][1] for m in group)))
    return buffers, aliases


def _place(buffers: list[_Buffer], best_fit: bool) -> int:
    """Give each buffer (in list order) an offset clear of the placed buffers it is live with; return
    the arena size."""
    placed: list[_Buffer] = []
    top = 0
    for buf in buffers:
        taken = sorted((p.offset, p.offset + p.size) for p in placed if p.live_with(buf))
        gaps = []                        # (gap size, offset) of the holes between taken ranges
        cursor = 0
        for start, end in taken:
            if start - cursor >= buf.size:
                gaps.append((start - cursor, cursor))
            cursor = max(cursor, end)
        if gaps and best_fit:
            buf.offset = min(gaps)[1]
        elif gaps:
            buf.offset = gaps[0][1]
        else:
            buf.offset = cursor          # above everything it is live with
        placed.append(buf)
        top = max(top, buf.offset + buf.size)
    return top


def _live_per_step(buffers: list[_Buffer], n_steps: int) -> list[int]:
    live = [0] * max(n_steps, 1)
    for buf in buffers:
        for s in range(buf.first, buf.last + 1):
            live[s] += buf.size
    return live


def _orders(buffers: list[_Buffer], live: list[int]) -> dict[str, list[_Buffer]]:
    """Placement orders worth trying; each is cheap, and none is best on every graph."""
    def span(b):
        return b.last - b.first

    def pressure(b):                     # the busiest step this buffer is live at
        return max(live[b.first:b.last + 1])

    return {
        "largest first": sorted(buffers, key=lambda b: (-b.size, -span(b), b.first)),
        "busiest step first": sorted(buffers, key=lambda b: (-pressure(b), -b.size, b.first)),
        "longest lived first": sorted(buffers, key=lambda b: (-span(b), -b.size, b.first)),
        "execution order": sorted(buffers, key=lambda b: (b.first, -b.size)),
    }


def plan(graph: Graph, steps: list[Step], check: bool = True) -> Plan:
    """Offsets for every activation tensor of the lowered graph, in the smallest arena found.

    With check=True (the default) the result is also run through `verify`."""
    life = lifetimes(graph, steps)
    buffers, aliases = _buffers(graph, steps, life)
    live = _live_per_step(buffers, len(steps))

    tried, best = {}, None
    for name, order in _orders(buffers, live).items():
        for best_fit in (False, True):
            label = f"{name}, {'tightest gap' if best_fit else 'lowest offset'}"
            arena = _place(order, best_fit)
            tried[label] = arena
            if best is None or arena < best[0]:
                best = (arena, label, {t: b.offset for b in buffers for t in b.tensors})
    arena, label, offsets = best
    result = Plan(offsets=offsets, arena_bytes=align(arena), lifetimes=life, aliases=aliases,
                  live_bytes=live, peak_step=int(np.argmax(live)), strategy=label, tried=tried)
    if check:
        verify(graph, steps, result)
    return result


def verify(graph: Graph, steps: list[Step], plan: Plan) -> None:
    """Run the schedule over a byte map of the arena and raise PlanError on the first unsafe write.

    Each arena byte records which tensor last wrote it. A step may only read tensors whose bytes are
    all still theirs, and may only write over bytes of tensors that no later step (and no graph
    output) needs; the one exception is an in-place step's output written exactly over its first input
    when that input is read for the last time. This deliberately does not use the plan's lifetimes.
    """
    arena = plan.arena_bytes
    owner = np.full(arena, -1, dtype=np.int64)

    def name(t: int) -> str:
        return f"tensor {t} ({graph.tensor(t).name})"

    def region(t: int) -> slice:
        if t not in plan.offsets:
            raise PlanError(f"{name(t)} has no offset in the plan")
        start, size = plan.offsets[t], graph.tensor(t).nbytes
        if start % ALIGNMENT:
            raise PlanError(f"{name(t)} starts at {start}, not a multiple of {ALIGNMENT}")
        if start < 0 or start + size > arena:
            raise PlanError(f"{name(t)} occupies bytes {start}..{start + size} "
                            f"outside the {arena}-byte arena")
        return slice(start, start + size)

    def reads_after(s: int) -> set[int]:
        later = {t for step in steps[s + 1:] for t in step.inputs}
        return later | set(graph.outputs)

    def check_intact(t: int, when: str) -> None:
        others = set(np.unique(owner[region(t)]).tolist()) - {t}
        if others:
            culprits = ", ".join(name(u) if u >= 0 else "nothing" for u in sorted(others))
            raise PlanError(f"{when}: {name(t)} was overwritten (its bytes now hold {culprits})")

    for t in graph.inputs:
        clash = set(np.unique(owner[region(t)]).tolist()) - {-1}
        if clash:
            raise PlanError(f"graph input {name(t)} overlaps graph input {name(min(clash))}")
        owner[region(t)] = t

    written_so_far = set(graph.inputs)
    for s, step in enumerate(steps):
        where = f"step {s} ({step.opcode})"
        for t in step.inputs:
            if t not in written_so_far:
                raise PlanError(f"{where} reads {name(t)} before any step writes it")
            check_intact(t, f"{where} reads a damaged input")
        needed_later = reads_after(s)
        written: list[int] = []
        for out in step.outputs:
            span = region(out)
            for victim in set(np.unique(owner[span]).tolist()) - {-1}:
                in_place_ok = (step.in_place and out == step.outputs[0] and step.inputs
                               and victim == step.inputs[0] and victim not in needed_later
                               and plan.offsets[out] == plan.offsets[victim])
                if victim in written:
                    raise PlanError(f"{where}: output {name(out)} overlaps output {name(victim)}")
                if victim in step.inputs and not in_place_ok:
                    raise PlanError(f"{where}: output {name(out)} overwrites {name(victim)} "
                                    f"while the step still reads it")
                if victim in needed_later and victim not in step.inputs:
                    raise PlanError(f"{where}: output {name(out)} overwrites {name(victim)}, "
                                    f"which a later step or the graph output still needs")
            owner[span] = out
            written.append(out)
        written_so_far.update(written)

    for t in graph.outputs:
        check_intact(t, "after the last step")


def memory_report(graph: Graph, steps: list[Step], plan: Plan) -> str:
    """A per-step table: which tensors are live (bytes@offset), the bytes they hold and the highest
    arena byte in use (both counted in aligned sizes). The busiest step is marked with '*'."""
    def size(t):
        return graph.tensor(t).nbytes

    lines = [f"activation arena: {plan.arena_bytes:,} bytes ({ALIGNMENT}-byte aligned); "
             f"busiest step {plan.peak_step} holds {plan.live_bound:,} bytes "
             f"(no placement of this schedule can use less)",
             f"placement: {plan.strategy}"]
    if plan.aliases:
        pairs = ", ".join(f"{o}<-{i}" for o, i in sorted(plan.aliases.items()))
        lines.append(f"in place (output<-input, same bytes): {pairs}")
    lines.append(f"{'step':>5}  {'op':<20} {'live bytes':>10} {'arena top':>10}  "
                 f"live tensors (index:bytes@offset, + = written here)")
    for s, step in enumerate(steps):
        live = sorted((t for t, (a, b) in plan.lifetimes.items() if a <= s <= b),
                      key=lambda t: plan.offsets[t])
        top = max((plan.offsets[t] + align(size(t)) for t in live), default=0)
        marks = [f"{t}:{size(t):,}@{plan.offsets[t]:,}{'+' if t in step.outputs else ''}"
                 for t in live]
        star = "*" if s == plan.peak_step else " "
        lines.append(f"{s:>4}{star}  {step.opcode:<20} {plan.live_bytes[s]:>10,} {top:>10,}  "
                     + " ".join(marks))
    return "\n".join(lines)
