"""Word lists of the Open Sesame reflexive templates (Lin et al. 2019).

Source: ``yongjie-lin/bert-opensesame`` (Apache-2.0), ``data_refl/refl.3`` (the attractor has
the subject's gender) and ``refl.4`` (the other gender). Those files are random samples of a
small grammar; these lists are the words each slot takes there, read off the files (facts).
Nouns are split by gender, which is what the anaphor agrees with.
"""

from __future__ import annotations

DETERMINERS: tuple[str, ...] = ("the", "some", "my", "your", "our", "her")

MASCULINE_NOUNS: tuple[str, ...] = (
    "actor", "boy", "brother", "father", "husband", "king", "lord", "man", "monk", "nephew", "prince", "uncle",
    "wizard",
)
FEMININE_NOUNS: tuple[str, ...] = (
    "actress", "aunt", "girl", "lady", "mother", "niece", "nun", "princess", "queen", "sister", "wife", "witch",
    "woman",
)

COMPLEMENTIZERS: tuple[str, ...] = ("who", "that")
AUXILIARIES: tuple[str, ...] = ("can", "could", "will", "would")
TRANSITIVE_VERBS: tuple[str, ...] = ("accept", "clean", "comfort", "dress", "hit", "hurt", "kick", "love", "remember")
INTRANSITIVE_VERBS: tuple[str, ...] = ("change", "cry", "eat", "move", "read", "sleep", "smile", "swim", "wait")

ANAPHOR_BY_GENDER: dict[str, str] = {"masc": "himself", "fem": "herself"}
NOUNS_BY_GENDER: dict[str, tuple[str, ...]] = {"masc": MASCULINE_NOUNS, "fem": FEMININE_NOUNS}
