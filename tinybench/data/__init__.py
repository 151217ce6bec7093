"""Datasets, features and the MLPerf Tiny evaluation-set format."""
