"""tinybench: an open MLPerf Tiny benchmark toolchain."""

__version__ = "0.1.0"
