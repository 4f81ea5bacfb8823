"""InfluenceBars: grouped bars of g_i and the pattern influences."""

from __future__ import annotations

import numpy as np

from ipyinfluence.results import Explanation
from ipyinfluence.widgets import InfluenceBars
from ipyinfluence.widgets.influence_bars import bar_values


def test_values_per_source_word(known):
    b = InfluenceBars(known)
    assert list(b.bars.x) == ["0:[CLS]", "1:the", "2:author", "4:happy", "5:[SEP]"]
    y = np.asarray(b.bars.y)
    assert y.shape == (3, 5) and b.bars.type == "grouped"
    np.testing.assert_allclose(y[:, 2], [0.5, 0.4, 0.35])  # author: g, I(π^e), I(π^a)
    np.testing.assert_allclose(y[:, 3], [-0.2, -0.1, -0.08])
    np.testing.assert_allclose(y[:, 0], 0.0)  # [CLS] not computed
    assert b.y_scale.min < -0.2 and b.y_scale.max > 0.5
    assert "2/5 computed" in b.summary


def test_streaming_and_embedding_only(known):
    words = list(known.words)
    known.words = []
    b = InfluenceBars(known)
    assert np.count_nonzero(np.asarray(b.bars.y)) == 0
    b.add_word(words[1])
    assert np.count_nonzero(np.asarray(b.bars.y)) == 0  # recorded; drawn by redraw()
    b.redraw()
    assert np.asarray(b.bars.y)[0, 3] == -0.2
    emb = Explanation.from_dict({**known.to_dict(), "level": "embedding"})
    emb.words = [words[0]]
    labels, values, names = bar_values(emb)
    assert values.shape == (2, 5) and len(names) == 2  # no attention series
    assert "ipyinfluence-bars" in b._dom_classes
