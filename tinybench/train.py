"""`tinybench train`: train a benchmark's reference architecture on a prepared dataset with the
hyperparameters of a YAML config (models/<bench>.yaml), until the quality target or the epoch limit.

It reports time-to-target, the MLPerf Training metric: wall time of training (all epochs, the
per-epoch quality evaluation included; data preparation and model building excluded) until the
quality metric first reaches the target. The output folder holds:

    checkpoint.keras   model + optimizer state after the last finished epoch (for resuming)
    history.json       config, per-epoch loss / quality / learning rate / time, and the summary
    model.keras        the final model (written when training ends)
    calibration.npy    representative inputs from the same data, for `tinybench quantize`

Running the same command again continues from the checkpoint. `--strategy` picks a tf.distribute
strategy (mirrored: all local devices; multiworker: the cluster in TF_CONFIG). TensorFlow runs with
op determinism on, so a seed gives the same run every time (on the same machine and versions).
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import yaml

from tinybench import benchmarks
from tinybench.data import prepare as prep, synth
from tinybench.errors import UserError
from tinybench.progress import progress_bar

CONFIG_DIR = Path(__file__).resolve().parents[1] / "models"
CHECKPOINT = "checkpoint.keras"
HISTORY = "history.json"
FINAL_MODEL = "model.keras"
CALIBRATION = "calibration.npy"
CALIBRATION_LIMIT = {"kws01": 120, "vww01": 11, "ic01": 500, "ad01": 5000}
STRATEGIES = ("default", "mirrored", "multiworker")
_EVAL_BATCH = 1024


@dataclass
class TrainConfig:
    benchmark: str
    batch_size: int
    epochs: int
    learning_rate: dict
    loss: str
    optimizer: str = "adam"
    augmentation: dict = field(default_factory=dict)
    target: float | str = "official"
    # None keeps the architecture's BatchNormalization momentum (Keras's 0.99, as the references).
    # Short runs on small data need faster-moving statistics: with 0.99 the moving variance still
    # remembers its initial 1.0 after a few hundred steps, and inference-mode outputs collapse.
    batchnorm_momentum: float | None = None
    quick: dict = field(default_factory=dict)  # overrides applied by `--quick`

    @property
    def target_value(self) -> float:
        if self.target == "official":
            return benchmarks.get(self.benchmark).quality_target
        return float(self.target)

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate of epoch (counted from 0)."""
        schedule = self.learning_rate
        kind = schedule.get("schedule")
        if kind == "constant":
            return float(schedule["value"])
        if kind == "exponential":
            return float(schedule["initial"]) * float(schedule["decay"]) ** epoch
        if kind == "steps":
            for boundary, value in zip(schedule["boundaries"], schedule["values"]):
                if epoch < boundary:
                    return float(value)
            return float(schedule["values"][-1])
        raise UserError(f"learning_rate.schedule {kind!r}: use constant, exponential or steps")


def default_config_path(bench_id: str) -> Path:
    return CONFIG_DIR / f"{benchmarks.get(bench_id).id}.yaml"


def load_config(bench_id: str, path: Path | None = None, quick: bool = False) -> TrainConfig:
    """The config at path (default models/<bench>.yaml); with quick, its `quick:` overrides
    applied (a short run for small data such as the synthetic sets)."""
    bench = benchmarks.get(bench_id)
    path = Path(path) if path else default_config_path(bench.id)
    if not path.is_file():
        raise UserError(f"{path}: no such config; the reference configs are models/<bench>.yaml")
    try:
        raw = yaml.safe_load(path.read_text())
        if not isinstance(raw, dict):
            raise TypeError("the file is not a mapping of settings")
        if quick:
            overrides = raw.get("quick") or {}
            if not overrides:
                raise UserError(f"{path}: has no quick: section for --quick")
            raw = {**raw, **overrides}
        config = TrainConfig(**raw)
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc})") from None
    except TypeError as exc:
        keys = ", ".join(TrainConfig.__dataclass_fields__)
        raise UserError(f"{path}: {exc}; the keys are {keys}") from None
    if config.batchnorm_momentum is not None and not 0.0 < config.batchnorm_momentum < 1.0:
        raise UserError(f"{path}: batchnorm_momentum must be between 0 and 1")
    if config.benchmark != bench.id:
        raise UserError(f"{path}: a config for {config.benchmark}, not {bench.id}")
    if config.batch_size < 1 or config.epochs < 1:
        raise UserError(f"{path}: batch_size and epochs must be at least 1")
    if config.optimizer != "adam":
        raise UserError(f"{path}: optimizer {config.optimizer!r}: the references all use adam")
    config.learning_rate_at(0)  # rejects an unknown schedule now rather than after an epoch
    try:
        config.target_value
    except ValueError:
        raise UserError(f"{path}: target {config.target!r} is neither a number nor 'official'") from None
    unknown = set(config.augmentation) - {"rotation_degrees", "shift", "zoom", "horizontal_flip"}
    if unknown:
        raise UserError(f"{path}: unknown augmentation {', '.join(sorted(unknown))}")
    return config


# -- data ---------------------------------------------------------------------------------------

_AD = benchmarks.get("ad01").preprocessing
AD_VECTORS_PER_CLIP = _AD["file_frames"] - _AD["frames_per_vector"] + 1  # 196 five-frame vectors


class TrainingData:
    """Batches of (model input, target) from a prepared split, reshuffled every epoch (the order
    of epoch k depends only on the seed and k, so a resumed run sees the same order)."""

    def __init__(self, bench_id: str, data: prep.Prepared, batch_size: int, seed: int):
        self.bench_id, self.batch_size, self.seed = bench_id, batch_size, seed
        self.x, self.y = data.x("train"), data.y("train")
        self.items = len(self.x) * (AD_VECTORS_PER_CLIP if bench_id == "ad01" else 1)
        if self.items == 0:
            raise UserError(f"{data.folder}: the train split is empty")

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.items / self.batch_size)

    def batch(self, rows: np.ndarray):
        if self.bench_id == "ad01":
            files, offsets = rows // AD_VECTORS_PER_CLIP, rows % AD_VECTORS_PER_CLIP
            frames = offsets[:, None] + np.arange(_AD["frames_per_vector"])[None, :]
            vectors = self.x[files[:, None], frames]
            vectors = vectors.reshape(len(rows), -1).astype(np.float32)
            return vectors, vectors
        return prep.model_inputs(self.bench_id, self.x[rows]), self.y[rows].astype(np.int32)

    def epoch_batches(self, epoch: int):
        order = np.random.default_rng([self.seed, epoch]).permutation(self.items)
        for start in range(0, self.items, self.batch_size):
            yield self.batch(np.sort(order[start:start + self.batch_size]))


def _augmenter(keras, augmentation: dict):
    """The reference's image augmentation (Keras ImageDataGenerator settings) as Keras layers,
    filling uncovered pixels with the nearest edge pixel as ImageDataGenerator does."""
    layers = []
    if augmentation.get("rotation_degrees"):
        layers.append(keras.layers.RandomRotation(augmentation["rotation_degrees"] / 360.0,
                                                  fill_mode="nearest"))
    if augmentation.get("shift"):
        layers.append(keras.layers.RandomTranslation(augmentation["shift"], augmentation["shift"],
                                                     fill_mode="nearest"))
    if augmentation.get("zoom"):
        z = augmentation["zoom"]
        layers.append(keras.layers.RandomZoom((-z, z), (-z, z), fill_mode="nearest"))
    if augmentation.get("horizontal_flip"):
        layers.append(keras.layers.RandomFlip("horizontal"))
    return keras.Sequential(layers) if layers else None


def _dataset(tf, keras, source: TrainingData, config: TrainConfig, first_epoch: int):
    bench = benchmarks.get(source.bench_id)
    shape = bench.input_shape[1:]
    target_spec = (tf.TensorSpec((None, *shape), tf.float32) if bench.id == "ad01"
                   else tf.TensorSpec((None,), tf.int32))
    def generate():  # one endless stream; Keras takes steps_per_epoch batches per epoch
        epoch = first_epoch
        while True:
            yield from source.epoch_batches(epoch)
            epoch += 1

    ds = tf.data.Dataset.from_generator(
        generate, output_signature=(tf.TensorSpec((None, *shape), tf.float32), target_spec))
    augment = _augmenter(keras, config.augmentation)
    if augment is not None:
        ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(2)


# -- quality ------------------------------------------------------------------------------------

def _predict(model, x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(model.predict_on_batch(x[i:i + _EVAL_BATCH]))
                           for i in range(0, len(x), _EVAL_BATCH)])


def quality(bench_id: str, model, data: prep.Prepared, split: str) -> float:
    """The benchmark's quality metric on a prepared split: top-1 accuracy in percent for the
    classifiers; for ad01 the ROC AUC of each clip's anomaly score, the mean squared reconstruction
    error over its five-frame vectors (as the reference and the MLPerf runner score it)."""
    x, y = data.x(split), data.y(split)
    if len(y) == 0:
        raise UserError(f"{data.folder}: the {split} split is empty")
    if bench_id != "ad01":
        predictions = []
        for i in range(0, len(x), _EVAL_BATCH):
            predictions.append(_predict(model, prep.model_inputs(bench_id, x[i:i + _EVAL_BATCH])))
        return float(100.0 * np.mean(np.concatenate(predictions).argmax(axis=1) == y))
    from sklearn.metrics import roc_auc_score
    if len(set(y.tolist())) < 2:
        raise UserError(f"{data.folder}: the {split} split needs normal and anomalous clips for AUC")
    scores = []
    files_per_call = max(1, _EVAL_BATCH * 4 // AD_VECTORS_PER_CLIP)
    for i in range(0, len(x), files_per_call):
        vectors = prep.model_inputs("ad01", x[i:i + files_per_call])
        errors = np.mean((_predict(model, vectors) - vectors) ** 2, axis=1)
        scores.extend(errors.reshape(-1, AD_VECTORS_PER_CLIP).mean(axis=1))
    return float(roc_auc_score(y, scores))


# -- the training run ---------------------------------------------------------------------------

def _strategy(tf, name: str):
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UserError(f"--strategy {name!r}: choose one of {', '.join(STRATEGIES)}")


def _is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                              and "chief" not in resolver.cluster_spec().as_dict())


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(tmp, path)


def _save_model(model, path: Path, chief: bool) -> None:
    """Every worker must take part in saving a distributed model; only the chief's file is kept."""
    target = path if chief else path.with_name(f".worker-{os.getpid()}-{path.name}")
    tmp = target.with_name(target.stem + ".tmp.keras")
    model.save(tmp)
    if chief:
        os.replace(tmp, target)
    else:
        tmp.unlink(missing_ok=True)


def resolve_data(bench_id: str, out: Path, data: Path | None, synthetic: bool,
                 per_class: int | None = None, seed: int = 0, log=print) -> prep.Prepared:
    """The prepared data to train on: a prepared folder as given; a raw dataset folder, prepared
    into OUT/prepared; or (synthetic) a synthetic dataset written to OUT/synthetic and prepared."""
    bench = benchmarks.get(bench_id)
    prepared_dir = out / "prepared"
    if synthetic:
        if data is not None:
            raise UserError("give either --data or --synthetic, not both")
        if prep.is_prepared(prepared_dir):
            return prep.open_prepared(prepared_dir, bench.id)
        raw = out / "synthetic"
        if not raw.exists():
            log(f"writing a synthetic {bench.dataset} set to {raw}")
            synth.synthesize(bench.id, raw, per_class=per_class, seed=seed)
        return prep.prepare(bench.id, raw, prepared_dir, seed=seed)
    if data is None:
        data = Path("datasets") / bench.id / "prepared"
        if not prep.is_prepared(data):
            raise UserError(f"no --data given and {data} is not a prepared dataset: run `tinybench "
                            f"datasets download {bench.id}` and `tinybench datasets prepare "
                            f"{bench.id} --source datasets/{bench.id}/source --out {data}`, or "
                            f"train on --synthetic data")
    data = Path(data)
    if prep.is_prepared(data):
        return prep.open_prepared(data, bench.id)
    if prep.is_prepared(prepared_dir):
        earlier = prep.open_prepared(prepared_dir, bench.id)
        if earlier.meta["source"] == str(data.resolve()):
            return earlier
    log(f"{data} is a raw dataset: preparing it into {prepared_dir}")
    return prep.prepare(bench.id, data, prepared_dir, seed=seed)


def train(bench_id: str, out: Path, data: Path | None = None, synthetic: bool = False,
          config_path: Path | None = None, epochs: int | None = None, max_steps: int | None = None,
          strategy: str = "default", seed: int = 0, per_class: int | None = None,
          quick: bool = False, batch_size: int | None = None, fresh: bool = False,
          show_progress: bool = True, log=print) -> dict:
    """Train (or continue training) and return the summary that history.json also records."""
    bench = benchmarks.get(bench_id)
    config = load_config(bench.id, config_path, quick=quick)
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value is not None:
            if value < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1")
            setattr(config, name, value)
    if max_steps is not None and max_steps < 1:
        raise UserError("--max-steps must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    history_path, checkpoint = out / HISTORY, out / CHECKPOINT
    if fresh:
        for name in (HISTORY, CHECKPOINT, FINAL_MODEL, CALIBRATION):
            (out / name).unlink(missing_ok=True)

    state = None
    if history_path.is_file() and checkpoint.is_file():
        try:
            state = json.loads(history_path.read_text())
        except ValueError:
            raise UserError(f"{history_path}: unreadable; start over with --fresh") from None
        if state.get("benchmark") != bench.id:
            raise UserError(f"{out}: holds a {state.get('benchmark')} run; use another --out or --fresh")
        if state["summary"]["reached"] or state["epochs_done"] >= config.epochs:
            log(f"{out}: training already finished ({state['epochs_done']} epochs); "
                f"--fresh starts over, a larger --epochs continues")
            return state["summary"]
        log(f"resuming from {checkpoint} after epoch {state['epochs_done']}")

    prepared = resolve_data(bench.id, out, data, synthetic, per_class, seed, log)
    quality_split = prepared.meta["quality_split"]
    source = TrainingData(bench.id, prepared, config.batch_size, seed)

    from tinybench.float_models import import_keras
    keras = import_keras()
    import tensorflow as tf
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()  # the same seed gives the same run
    distribution = _strategy(tf, strategy)
    chief = _is_chief(distribution)
    with distribution.scope():
        if state is not None:
            try:
                model = keras.models.load_model(checkpoint)
            except Exception as exc:  # Keras fails in many ways on a damaged file
                raise UserError(f"{checkpoint}: cannot be loaded ({type(exc).__name__}); start "
                                f"over with --fresh") from None
        else:
            from tinybench.models import build
            model = build(bench.id, batch_size=None)
            if config.batchnorm_momentum is not None:
                for layer in model.layers:
                    if isinstance(layer, keras.layers.BatchNormalization):
                        layer.momentum = config.batchnorm_momentum
            metrics = ["accuracy"] if bench.id != "ad01" else []
            model.compile(optimizer=keras.optimizers.Adam(config.learning_rate_at(0)),
                          loss=config.loss, metrics=metrics)
    if state is None:
        state = {"benchmark": bench.id, "config": asdict(config), "data": str(prepared.folder),
                 "quality_split": quality_split, "metric": bench.quality_metric,
                 "target": config.target_value, "epochs_done": 0, "train_seconds": 0.0,
                 "time_to_target_seconds": None, "history": [], "summary": {}}
    if state["config"] != asdict(config):
        for key in ("batch_size", "learning_rate", "augmentation", "batchnorm_momentum", "loss"):
            if state["config"].get(key) != getattr(config, key):
                raise UserError(f"{out}: the run there was started with another {key} "
                                f"({state['config'].get(key)!r}); resume with the same config "
                                f"or start over with --fresh")
        state["config"] = asdict(config)
    first_epoch = state["epochs_done"]
    steps = source.steps_per_epoch * (config.epochs - first_epoch)
    if max_steps is not None:
        steps = min(steps, max_steps)
    dataset = _dataset(tf, keras, source, config, first_epoch)

    class Progress(keras.callbacks.Callback):
        """Progress bar over all steps of the run; per-epoch quality, checkpoint and history."""

        def on_train_begin(self, logs=None):
            self.bar = progress_bar(total=steps, desc=f"train {bench.id}", unit="step",
                                    disable=not show_progress)
            self.steps_done = 0
            self.run_start = time.monotonic() - state["train_seconds"]

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = time.monotonic()
            self.model.optimizer.learning_rate.assign(config.learning_rate_at(epoch))

        def on_train_batch_end(self, batch, logs=None):
            self.steps_done += 1
            self.bar.update(1)
            if logs and "loss" in logs:
                self.bar.set_postfix(epoch=len(state["history"]) + 1, loss=f"{float(logs['loss']):.4g}",
                                     refresh=False)
            if max_steps is not None and self.steps_done >= max_steps:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            value = quality(bench.id, self.model, prepared, quality_split)
            elapsed = time.monotonic() - self.run_start
            state["history"].append({
                "epoch": epoch + 1, "loss": float((logs or {}).get("loss", float("nan"))),
                "quality": value, "learning_rate": config.learning_rate_at(epoch),
                "epoch_seconds": round(time.monotonic() - self.epoch_start, 3),
                "elapsed_seconds": round(elapsed, 3)})
            state["epochs_done"] = epoch + 1
            state["train_seconds"] = elapsed
            if value >= config.target_value and state["time_to_target_seconds"] is None:
                state["time_to_target_seconds"] = round(elapsed, 3)
                self.model.stop_training = True
            self.bar.set_postfix(epoch=epoch + 1, quality=f"{value:.4g}", refresh=True)
            state["summary"] = _summary(state, bench, config)
            _save_model(self.model, checkpoint, chief)
            if chief:
                _write_json(history_path, state)

        def on_train_end(self, logs=None):
            self.bar.close()

    model.fit(dataset, epochs=config.epochs, initial_epoch=first_epoch,
              steps_per_epoch=source.steps_per_epoch, callbacks=[Progress()], shuffle=False,
              verbose=0)

    summary = _summary(state, bench, config)
    final_split = prepared.meta["eval_split"]
    if summary["finished"] and final_split != quality_split:
        summary[f"{final_split}_quality"] = quality(bench.id, model, prepared, final_split)
    state["summary"] = summary
    if summary["finished"]:
        _save_model(model, out / FINAL_MODEL, chief)
        if chief:
            samples = prep.calibration_inputs(bench.id, prepared)
            np.save(out / CALIBRATION,
                    samples[prep.evenly_spaced(len(samples), CALIBRATION_LIMIT[bench.id])])
    if chief:
        _write_json(history_path, state)
    return summary


def _summary(state: dict, bench, config: TrainConfig) -> dict:
    history = state["history"]
    reached = state["time_to_target_seconds"] is not None
    return {
        "benchmark": bench.id, "metric": bench.quality_metric, "target": config.target_value,
        "quality_split": state["quality_split"], "reached": reached,
        "time_to_target_seconds": state["time_to_target_seconds"],
        "epochs_done": state["epochs_done"], "epoch_limit": config.epochs,
        "finished": reached or state["epochs_done"] >= config.epochs,
        "final_quality": history[-1]["quality"] if history else None,
        "best_quality": max(h["quality"] for h in history) if history else None,
        "train_seconds": round(state["train_seconds"], 3),
    }


def format_summary(summary: dict, out: Path) -> str:
    unit = "%" if summary["metric"] == "top1" else ""
    name = "top-1" if summary["metric"] == "top1" else "AUC"
    lines = [f"{summary['benchmark']}: {summary['epochs_done']} of {summary['epoch_limit']} epochs, "
             f"{summary['train_seconds']:.1f} s of training"]
    if summary["final_quality"] is not None:
        lines.append(f"{name} on {summary['quality_split']}: {summary['final_quality']:.4g}{unit} "
                     f"(best {summary['best_quality']:.4g}{unit}, target {summary['target']:g}{unit})")
    for key, value in summary.items():
        if key.endswith("_quality") and key not in ("final_quality", "best_quality"):
            lines.append(f"{name} on {key[:-len('_quality')]}: {value:.4g}{unit}")
    if summary["reached"]:
        lines.append(f"time to target: {summary['time_to_target_seconds']:.1f} s")
    else:
        lines.append("time to target: not reached" + ("" if summary["finished"] else
                                                      " (stopped early; run again to continue)"))
    if summary["finished"]:
        lines.append(f"model: {out / FINAL_MODEL}; quantize with `tinybench quantize "
                     f"{summary['benchmark']} --model {out / FINAL_MODEL} --calibration "
                     f"{out / CALIBRATION} --out {out / 'model_int8.tflite'}`")
    return "\n".join(lines)
