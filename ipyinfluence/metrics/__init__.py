"""Evaluation metrics for influence patterns and baselines (docs/method.md §6), one per module.

Node sets are plain frozensets of node tuples (:mod:`.nodes`); every metric reads the
plain result types (:mod:`ipyinfluence.results`), so GPR and baseline patterns are
measured the same way.
"""

from .ablation import Ablated, AblationAccuracy, ablate, ablation_accuracy
from .alignment import Alignment, alignment_counts, alignment_rate, attention_probabilities
from .concentration import Concentration, concentration
from .entropy import binary_entropy, pattern_entropy, template_entropy, template_patterns
from .masked_forward import masked_forward, masked_layer
from .nodes import (
    Node,
    NodeMasks,
    graph_nodes,
    layer_counts,
    match_layer_counts,
    node_frequency,
    node_masks,
    pattern_nodes,
    union_nodes,
    words_of,
)
from .replace_skip import replace_skip
from .path_share import PathShare, count_paths, explanation_path_share, path_share
from .skip_share import SkipShare, skip_share

__all__ = [
    "Ablated", "AblationAccuracy", "ablate", "ablation_accuracy",
    "Alignment", "alignment_counts", "alignment_rate", "attention_probabilities",
    "Concentration", "concentration",
    "binary_entropy", "pattern_entropy", "template_entropy", "template_patterns",
    "masked_forward", "masked_layer",
    "Node", "NodeMasks", "graph_nodes", "layer_counts", "match_layer_counts", "node_frequency", "node_masks",
    "pattern_nodes", "union_nodes", "words_of",
    "PathShare", "count_paths", "explanation_path_share", "path_share",
    "SkipShare", "skip_share", "replace_skip",
]
