"""Datasets, features and the MLPerf Tiny evaluation-set format.

Data flows one way through these modules:

    sources.py        download the official archives (manifests in datasets/<bench>.yaml)
    synth.py          or write a synthetic set in the same published layout
    speech_commands.py, vww.py, cifar10.py, toyadmos.py
                      read each dataset's published layout and split it as the reference does
    features.py       the model inputs, computed as the reference pipelines compute them
    prepare.py        raw folder -> prepared arrays (what training, calibration and export read)
    export.py         prepared arrays -> an eval set (evalset.py: the .bin + y_labels.csv format)
    audio.py          wav reading and writing with errors that name the file
"""
