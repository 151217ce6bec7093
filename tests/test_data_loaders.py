"""Synthetic data in the published layouts go through the real loaders and `prepare`; bad input
(missing or partial folders, wrong sample rates, corrupt images and pickles) gets an error that
names the file, and nothing half-written looks complete."""
from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest

from tinybench import benchmarks
from tinybench.data import audio, cifar10, prepare, speech_commands, synth, toyadmos, vww
from tinybench.errors import UserError

SIZES = {"kws01": dict(per_class=4, noise_seconds=3.0), "vww01": dict(per_class=10),
         "ic01": dict(per_class=8), "ad01": dict(per_class=3, seconds=8.2)}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    return {b: synth.synthesize(b, root / b, seed=1, **SIZES[b]) for b in SIZES}


@pytest.fixture
def copy_of(sources, tmp_path):
    def make(bench_id):
        return shutil.copytree(sources[bench_id], tmp_path / bench_id)
    return make


def test_speech_commands_layout_and_splits(sources):
    src = sources["kws01"]
    assert (src / "speech_commands_v0.02" / "_background_noise_" / "running_tap.wav").is_file()
    assert (src / "speech_commands_test_set_v0.02" / "_silence_").is_dir()
    clips = speech_commands.splits(src)
    labels = {split: np.bincount([c.label for c in items], minlength=12)
              for split, items in clips.items()}
    assert all((counts > 0).all() for counts in labels.values())  # every class in every split
    listed = set((src / "speech_commands_v0.02" / "validation_list.txt").read_text().split())
    assert {c.name for c in clips["validation"] if c.start is None} == listed
    testing = set((src / "speech_commands_v0.02" / "testing_list.txt").read_text().split())
    assert not testing & {c.name for c in clips["train"]}
    # silence cut every 0.5 s from the recordings: running_tap for validation, the others for train
    assert {c.path.name for c in clips["validation"] if c.start is not None} == {"running_tap.wav"}
    assert "running_tap.wav" not in {c.path.name for c in clips["train"] if c.start is not None}
    samples = speech_commands.load(clips["train"][0])
    assert samples.dtype == np.int16 and 0 < len(samples) <= 16000


def test_vww_cifar_toycar_layouts(sources):
    images = vww.splits(sources["vww01"])
    assert len(images["validation"]) == 2 and len(images["train"]) == 18  # 10% of each class held out
    assert vww.load(images["train"][0]).shape == (96, 96, 3)
    assert vww.eval_file_name("person/COCO_train2014_000000123456.jpg") == "000000123456.bin"

    cifar = cifar10.splits(sources["ic01"])
    assert cifar["train"][0].shape == (80, 32, 32, 3) and len(cifar["train"][2]) == 80
    assert np.bincount(cifar["test"][1]).tolist() == [4] * 10

    toycar = toyadmos.splits(sources["ad01"])
    assert {r.label for r in toycar["train"] + toycar["validation"]} == {0}
    assert {r.label for r in toycar["test"]} == {0, 1}
    assert (toyadmos.eval_file_name("anomaly_id_02_00000007.wav")
            == "anomaly_id_02_00000007_hist_librosa.bin")


def test_cifar_batches_are_planar_and_read_back_hwc(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / "data_batch_1"
    synth._write_cifar_batch(path, images, [1, 2, 3], ["a.png", "b.png", "c.png"], "b")
    with open(path, "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    assert raw[b"data"].shape == (3, 3072) and raw[b"data"].dtype == np.uint8
    # planar: all red values of a row-major image, then green, then blue
    assert raw[b"data"][0, 0] == images[0, 0, 0, 0] and raw[b"data"][0, 1024] == images[0, 0, 0, 1]
    assert raw[b"data"][0, 2048 + 33] == images[0, 1, 1, 2]
    back, labels, names = cifar10.load_batch(path)
    np.testing.assert_array_equal(back, images)
    assert labels.tolist() == [1, 2, 3] and names == ["a.png", "b.png", "c.png"]


@pytest.mark.parametrize("bench_id", ["kws01", "vww01", "ic01", "ad01"])
def test_prepare_writes_model_ready_arrays(sources, tmp_path, bench_id):
    out = tmp_path / "prepared"
    data = prepare.prepare(bench_id, sources[bench_id], out)
    reopened = prepare.open_prepared(out, bench_id)
    assert reopened.meta == data.meta == json.loads((out / "meta.json").read_text())
    shapes = {"kws01": (49, 10, 1), "vww01": (96, 96, 3), "ic01": (32, 32, 3), "ad01": (200, 128)}
    for split in data.splits:
        x, y, names = data.x(split), data.y(split), data.names(split)
        assert x.shape[1:] == shapes[bench_id] and len(x) == len(y) == len(names) > 0
        assert np.isfinite(np.asarray(x, dtype=np.float64)).all()
    calibration = prepare.calibration_inputs(bench_id, data)
    bench = benchmarks.get(bench_id)
    assert calibration.dtype == np.float32 and calibration.shape[1:] == bench.input_shape[1:]
    with pytest.raises(UserError, match="prepared for"):
        prepare.open_prepared(out, next(b for b in SIZES if b != bench_id))


def test_kws_training_clips_get_background_noise_once(sources, tmp_path):
    a = prepare.prepare("kws01", sources["kws01"], tmp_path / "a", seed=0)
    b = prepare.prepare("kws01", sources["kws01"], tmp_path / "b", seed=7)
    assert not np.array_equal(a.x("train"), b.x("train"))  # augmentation depends on the seed
    np.testing.assert_array_equal(a.x("test"), b.x("test"))  # evaluation data is never augmented
    np.testing.assert_array_equal(a.x("validation"), b.x("validation"))


# -- bad input ----------------------------------------------------------------------------------

def test_missing_and_partial_folders(copy_of, tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        speech_commands.splits(tmp_path / "nowhere")
    src = copy_of("kws01")
    (src / "speech_commands_v0.02" / "testing_list.txt").unlink()
    with pytest.raises(UserError, match="testing_list.txt: missing"):
        speech_commands.splits(src)

    src = copy_of("ic01")
    (src / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(UserError, match="data_batch_3: missing"):
        cifar10.splits(src)
    shutil.rmtree(src / "cifar-10-batches-py")
    with pytest.raises(UserError, match="no CIFAR-10 batches"):
        cifar10.splits(src)

    src = copy_of("vww01")
    shutil.rmtree(src / "vw_coco2014_96" / "non_person")
    with pytest.raises(UserError, match="non_person"):
        vww.splits(src)


def test_clip_listed_but_missing(copy_of):
    src = copy_of("kws01")
    listed = (src / "speech_commands_v0.02" / "validation_list.txt").read_text().split()[0]
    (src / "speech_commands_v0.02" / listed).unlink()
    with pytest.raises(UserError, match="validation_list.txt lists 1 clip"):
        speech_commands.splits(src)


def test_wav_of_the_wrong_rate_is_named(copy_of, tmp_path):
    src = copy_of("kws01")
    wrong = src / "speech_commands_v0.02" / "go" / "deadbeef_nohash_0.wav"
    audio.write_wav(wrong, np.zeros(8000), 8000)
    with pytest.raises(UserError, match=f"{wrong}: sampled at 8000 Hz"):
        prepare.prepare("kws01", src, tmp_path / "prepared")
    assert not prepare.is_prepared(tmp_path / "prepared")  # nothing looks complete

    src = copy_of("ad01")
    short = src / "ToyCar" / "test" / "normal_id_01_00000099.wav"
    audio.write_wav(short, np.zeros(16000), 16000)
    with pytest.raises(UserError, match=f"{short}: too short"):
        prepare.prepare("ad01", src, tmp_path / "ad")
    with pytest.raises(UserError, match="not a prepared dataset"):
        prepare.open_prepared(tmp_path / "ad")


def test_corrupt_files_are_named(copy_of, tmp_path):
    src = copy_of("vww01")
    bad = src / "vw_coco2014_96" / "person" / "COCO_train2014_000000000001.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(UserError, match=f"{bad}: not a readable image"):
        prepare.prepare("vww01", src, tmp_path / "vww")

    src = copy_of("ic01")
    batch = src / "cifar-10-batches-py" / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:500])
    with pytest.raises(UserError, match=f"{batch}: not a CIFAR-10 python batch"):
        cifar10.splits(src)

    batch.write_bytes(pickle.dumps({b"data": print}, protocol=2))  # a global other than numpy's
    with pytest.raises(UserError, match="not a CIFAR-10 python batch"):
        cifar10.splits(src)

    src = copy_of("kws01")
    wav = next((src / "speech_commands_test_set_v0.02" / "yes").glob("*.wav"))
    wav.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(UserError, match=f"{wav}: not a readable wav"):
        prepare.prepare("kws01", src, tmp_path / "kws")


def test_toycar_names_and_labels_are_checked(copy_of):
    src = copy_of("ad01")
    stray = src / "ToyCar" / "train" / "anomaly_id_01_00000000.wav"
    shutil.copy(next((src / "ToyCar" / "test").glob("anomaly_*.wav")), stray)
    with pytest.raises(UserError, match="an anomaly clip in train"):
        toyadmos.splits(src)
    stray.rename(src / "ToyCar" / "train" / "car_01.wav")
    with pytest.raises(UserError, match="car_01.wav: not a DCASE2020 ToyCar file name"):
        toyadmos.splits(src)


def test_synth_never_leaves_a_half_written_folder(tmp_path):
    out = tmp_path / "set"
    (out / "something").mkdir(parents=True)
    with pytest.raises(UserError, match="not empty"):
        synth.synthesize("ic01", out, per_class=2)
    done = synth.synthesize("ic01", tmp_path / "fresh", per_class=2)
    assert done.is_dir() and not (tmp_path / "fresh.partial").exists()


def test_cli_synth_and_prepare(cli, tmp_path):
    result = cli("datasets", "synth", "ic01", "--out", tmp_path / "raw", "--per-class", 2)
    assert result.exit_code == 0, result.output
    result = cli("datasets", "prepare", "ic01", "--source", tmp_path / "raw", "--out", tmp_path / "p")
    assert result.exit_code == 0 and "train 20, test 40" in result.output
    result = cli("datasets", "prepare", "ic01", "--source", tmp_path / "nothing", "--out", tmp_path / "q")
    assert result.exit_code == 1 and "no such folder" in result.output
    assert "Traceback" not in result.output
