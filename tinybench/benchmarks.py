"""The registry of the four MLPerf Tiny closed-division benchmarks.

Every fact about a benchmark lives here once: shapes, labels, quality targets, run-rule counts,
preprocessing parameters and where the official reference model comes from. Facts are from the
MLPerf Tiny repository (see ../shared/mlperf-tiny/SPEC.md); the code is ours.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tinybench.errors import UserError

OFFICIAL_REPO_RAW = "https://raw.githubusercontent.com/mlcommons/tiny/1afd2c9"
"""The commit of mlcommons/tiny whose reference models and label files we are compatible with."""


@dataclass(frozen=True)
class RunCounts:
    """Inference counts of one run-rule step: `infer iterations warmups`."""
    iterations: int
    warmups: int


@dataclass(frozen=True)
class Benchmark:
    id: str                     # the string the DUT reports in m-model-[...]
    task: str
    submission_name: str        # model folder name in a submission tree (closed division)
    architecture: str
    dataset: str
    input_shape: tuple[int, ...]
    input_dtype: str            # dtype of the model's input tensor
    eval_file_dtype: str        # dtype of the bytes in an eval-set .bin file
    eval_file_bytes: int        # bytes the host sends per inference (ad01: one window)
    db_buffer_bytes: int        # the DUT's `db` buffer (MAX_DB_INPUT_SIZE of the reference firmware)
    labels: tuple[str, ...]
    quality_metric: str         # "top1" (percent) or "auc"
    quality_target: float
    eval_set_size: int
    performance: RunCounts
    energy: RunCounts
    accuracy: RunCounts
    baud_performance: int
    baud_energy: int
    official_model_path: str    # path in the mlcommons/tiny repository
    official_model_md5: str
    official_input_scale: float
    official_input_zero_point: int
    preprocessing: dict = field(default_factory=dict)
    # ad01 only: the runner cuts each eval file into windows of this many bytes, this far apart.
    window_bytes: int | None = None
    window_stride_bytes: int | None = None

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def official_model_url(self) -> str:
        return f"{OFFICIAL_REPO_RAW}/{self.official_model_path}"

    @property
    def input_elements(self) -> int:
        n = 1
        for d in self.input_shape:
            n *= d
        return n

    @property
    def output_elements(self) -> int:
        """Values the model outputs: a score per class, or (the ad01 autoencoder) its input."""
        return self.input_elements if self.id == "ad01" else self.num_classes


BENCHMARKS: dict[str, Benchmark] = {
    b.id: b
    for b in [
        Benchmark(
            id="kws01",
            task="keyword spotting",
            submission_name="kws",
            architecture="DS-CNN",
            dataset="Speech Commands v2",
            input_shape=(1, 49, 10, 1),
            input_dtype="int8",
            eval_file_dtype="int8",
            eval_file_bytes=490,
            db_buffer_bytes=490,
            labels=("Down", "Go", "Left", "No", "Off", "On", "Right", "Stop", "Up", "Yes",
                    "Silence", "Unknown"),
            quality_metric="top1",
            quality_target=90.0,
            eval_set_size=1000,
            performance=RunCounts(70, 10),
            energy=RunCounts(70, 10),
            accuracy=RunCounts(1, 0),
            baud_performance=115200,
            baud_energy=9600,
            official_model_path="benchmark/training/keyword_spotting/trained_models/kws_ref_model.tflite",
            official_model_md5="618aeb155673dae92fa6a7f26608add5",
            official_input_scale=0.5847029,
            official_input_zero_point=83,
            preprocessing=dict(
                feature="mfcc", sample_rate=16000, clip_samples=16000,
                window_samples=480, stride_samples=320, fft_length=512,
                mel_bins=40, mel_low_hz=20.0, mel_high_hz=4000.0, log_offset=1e-6,
                num_mfcc=10, frames=49,
                background_probability=0.8, background_volume=0.1,
            ),
        ),
        Benchmark(
            id="vww01",
            task="visual wake words",
            submission_name="vww",
            architecture="MobileNetV1 alpha 0.25",
            dataset="Visual Wake Words (COCO 2014, 96x96)",
            input_shape=(1, 96, 96, 3),
            input_dtype="int8",
            eval_file_dtype="uint8",
            eval_file_bytes=96 * 96 * 3,
            db_buffer_bytes=96 * 96 * 3,
            labels=("non_person", "person"),
            quality_metric="top1",
            quality_target=80.0,
            eval_set_size=1000,
            performance=RunCounts(20, 5),
            energy=RunCounts(20, 5),
            accuracy=RunCounts(1, 0),
            baud_performance=115200,
            baud_energy=9600,
            official_model_path="benchmark/training/visual_wake_words/trained_models/vww_96_int8.tflite",
            official_model_md5="f0b011416abee0343a5d130cb1f4c18f",
            official_input_scale=1 / 255,
            official_input_zero_point=-128,
            preprocessing=dict(feature="pixels", image_size=96, pixel_scale=1 / 255),
        ),
        Benchmark(
            id="ic01",
            task="image classification",
            submission_name="ic",
            architecture="ResNet-8",
            dataset="CIFAR-10",
            input_shape=(1, 32, 32, 3),
            input_dtype="int8",
            eval_file_dtype="uint8",
            eval_file_bytes=32 * 32 * 3,
            db_buffer_bytes=32 * 32 * 3,
            labels=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                    "ship", "truck"),
            quality_metric="top1",
            quality_target=85.0,
            eval_set_size=200,
            performance=RunCounts(20, 5),
            energy=RunCounts(20, 0),
            accuracy=RunCounts(1, 0),
            baud_performance=115200,
            baud_energy=9600,
            official_model_path=("benchmark/training/image_classification/trained_models/"
                                 "pretrainedResnet_quant.tflite"),
            official_model_md5="2d6dd48722471313e4c4528249205ae3",
            official_input_scale=1.0,
            official_input_zero_point=-128,
            preprocessing=dict(feature="pixels", image_size=32, pixel_scale=1.0),
        ),
        Benchmark(
            id="ad01",
            task="anomaly detection",
            submission_name="ad",
            architecture="FC autoencoder",
            dataset="ToyADMOS ToyCar (DCASE2020 task 2)",
            input_shape=(1, 640),
            input_dtype="int8",
            eval_file_dtype="float32",
            eval_file_bytes=2560,
            db_buffer_bytes=5120,
            labels=("normal", "anomaly"),
            quality_metric="auc",
            quality_target=0.85,
            eval_set_size=248,
            performance=RunCounts(1500, 10),
            energy=RunCounts(1500, 0),
            accuracy=RunCounts(1, 0),
            baud_performance=921600,
            baud_energy=9600,
            official_model_path="benchmark/training/anomaly_detection/trained_models/ad01_int8.tflite",
            official_model_md5="361fa1b1b871e2068b2ab38d9805ef56",
            official_input_scale=0.39101523,
            official_input_zero_point=89,
            preprocessing=dict(
                feature="log-mel", sample_rate=16000, n_fft=1024, hop_length=512, n_mels=128,
                power=2.0,
                first_frame=50, last_frame=249, frames_per_vector=5,
                file_frames=200,  # frames 50..249 of each clip
            ),
            window_bytes=2560,
            window_stride_bytes=512,
        ),
    ]
}

# The DUT profile line every reference firmware prints before m-model-[...].
PROFILE_STRING = "ULPMark for tinyML Firmware V0.0.1"
# Performance (and energy) windows the run rules ask for, and the minimum length of each.
PERFORMANCE_WINDOWS = 5
MIN_WINDOW_SECONDS = 10.0
MIN_WINDOW_INFERENCES = 10


def get(benchmark_id: str) -> Benchmark:
    """The benchmark with this id, or a UserError that lists the known ones."""
    try:
        return BENCHMARKS[benchmark_id]
    except KeyError:
        raise UserError(f"unknown benchmark {benchmark_id!r}: choose one of "
                        f"{', '.join(BENCHMARKS)}") from None


def match_model(input_shape, output_shape) -> Benchmark | None:
    """The benchmark whose input and output shapes a model has, if any (for open-division models
    the answer is None)."""
    for b in BENCHMARKS.values():
        if tuple(input_shape) == b.input_shape and tuple(output_shape) == (1, b.output_elements):
            return b
    return None
