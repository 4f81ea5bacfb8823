"""The paper's tasks, generated in code (docs/method.md §7).

``generate(task, n, tokenizer, seed=0)`` gives balanced, filtered :class:`Instance` lists for
the tasks in :data:`TASKS`: ``sva-obj``, ``sva-subj``, ``sva-wsc``, ``sva-app``, ``ra-number``
(Marvin & Linzen 2018 templates), ``ra-gender`` (Open Sesame, Lin et al. 2019) and ``sa``
(SST-2, :func:`load_sst2`). Each instance's ``qoi()`` is the paper's quantity of interest.
"""

from .instance import Instance
from .registry import GENDER_TYPES, NUMBER_TYPES, TASKS, TaskSpec, all_instances, filtered_instances, generate
from .sst2 import load_sst2

__all__ = ["Instance", "TASKS", "TaskSpec", "generate", "load_sst2", "filtered_instances", "all_instances",
           "NUMBER_TYPES", "GENDER_TYPES"]
