"""Progress bars (rate and ETA) for long work, on stderr so that stdout stays parseable."""
from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total=None, desc: str = "", unit: str = "it", initial: int = 0, **kwargs):
    unit_scale = unit == "B"
    return tqdm(total=total, desc=desc, unit=unit, initial=initial, unit_scale=unit_scale,
                dynamic_ncols=True, file=sys.stderr, leave=True, **kwargs)
