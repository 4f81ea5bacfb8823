"""Skip share by hand."""

import math

from ipyinfluence.metrics import skip_share

from _hand_results import word


def test_skip_share_by_hand():
    words = [
        word(1, 1.0, [1, 1, 1, 3], routes=["skip", "skip", 2]),  # 2 of 3
        word(2, -1.0, [2, 2, 2, 3], routes=["skip", "skip", 0]),  # 2 of 3
    ]
    s = skip_share(words)
    assert (s.skips, s.transitions) == (4, 6) and s.share == 4 / 6
    assert skip_share(words, sign=+1).share == 2 / 3
    assert math.isnan(skip_share([]).share)
    all_skips = word(3, 1.0, [3, 3, 3], routes=["skip", "skip"])
    assert skip_share([all_skips]).share == 1.0
