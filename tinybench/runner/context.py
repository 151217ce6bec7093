"""What the run modes share: the DUT, the output folder, and the benchmark's conventions."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from tinybench.benchmarks import Benchmark
from tinybench.data import evalset
from tinybench.dut.protocol import DutClient, DutGarbled
from tinybench.errors import UserError
from tinybench.runner.exchange import StepRunner
from tinybench.runner.output import RunOutput


@dataclass
class RunContext:
    client: DutClient
    steps: StepRunner
    output: RunOutput
    bench: Benchmark | None         # None: a model that is none of the four (open division)
    model: str                      # the model folder name in the submission tree
    num_classes: int | None         # from the label file
    chunk_bytes: int
    line_timeout: float
    instructions_per_us: float | None = None   # set when the DUT's clock counts instructions
    model_macs: int | None = None
    summary: dict = field(default_factory=dict)
    bar: object = None              # the progress bar in use, for warnings

    @property
    def name(self) -> str:
        """What progress bars call the run: the benchmark id, or the model folder."""
        return self.bench.id if self.bench else self.model

    @property
    def window_bytes(self) -> int | None:
        return self.bench.window_bytes if self.bench else None

    @property
    def window_stride_bytes(self) -> int | None:
        return self.bench.window_stride_bytes if self.bench else None

    @property
    def expected_results(self) -> int | None:
        """Values per m-results line: one score for ad01, one per class for the classifiers."""
        if self.bench is None:
            return None
        return 1 if self.bench.window_bytes else self.bench.num_classes

    def segments(self, dataset: Path, entry: evalset.EvalEntry) -> list[bytes]:
        """The byte strings sent for one eval file: one, or ad01's windows."""
        if self.bench is None:
            path = Path(dataset) / entry.file
            if not path.is_file():
                raise UserError(f"{path}: listed in {evalset.LABELS_FILE} but missing")
            return [path.read_bytes()]
        data = evalset.read_input(dataset, entry, self.bench)
        return evalset.windows(entry, data, self.bench)

    def truth(self, entry: evalset.EvalEntry, segments: int) -> dict:
        """The label fields of a results.json record, as the official runner names them."""
        return dict(file=entry.file, classes=entry.num_classes, **{"class": entry.label},
                    bytes_to_send=entry.window_bytes, stride=entry.stride_bytes,
                    total_length=segments if self.window_bytes else None)

    def check_results(self, values: list[float], what: str) -> None:
        expected = self.expected_results
        if expected is None and self.output.steps:
            expected = len(self.output.steps[0]["infer"]["results"])
        if not values or (expected is not None and len(values) != expected):
            raise DutGarbled(f"the answer to '{what}' has {len(values)} result value(s), "
                             f"expected {expected}")

    def warn(self, message: str) -> None:
        self.output.log(f"warning: {message}")
        if self.bar is not None:
            self.bar.write(f"warning: {message}", file=sys.stderr)
        else:
            print(f"warning: {message}", file=sys.stderr)
