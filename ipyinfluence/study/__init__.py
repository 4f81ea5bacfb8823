"""Studies over sentence sets: many explanations at once, aggregated, and checked causally.

* :class:`SentenceSet` — texts, templates with slots and word lists, or the paper's tasks;
* :func:`explain_many` — explanations of many sentences, batched where exact, streamed;
* :class:`Study` — a set and its explanations (saved, resumable), :meth:`Study.aggregate`,
  :meth:`Study.ablate`.
"""

from .ablate import AblationResult, chosen_nodes, random_control
from .aggregate import Aggregates, RoleAggregate, aggregate, sentences_through
from .explain_many import ManyStream, explain_many
from .sentence_set import ContrastBy, DuplicateSentencesWarning, PerSentence, SentenceInstance, SentenceSet
from .store import StudyStore
from .study import Study

__all__ = ["explain_many", "ManyStream", "SentenceSet", "SentenceInstance", "ContrastBy", "PerSentence",
           "DuplicateSentencesWarning", "Study", "StudyStore", "Aggregates", "RoleAggregate", "aggregate",
           "sentences_through", "AblationResult", "chosen_nodes", "random_control"]
