"""Word lists of Marvin & Linzen (2018), read off the published pairs.

Source: ``BeckyMarvin/LM_syneval`` (MIT), the agreement templates ``obj_rel_across_anim``,
``subj_rel``, ``sent_comp``, ``prep_anim`` and ``reflexives_across``. The lists are facts
(which words fill which slot); they were reconstructed by reading the reference pairs and are
kept in the order the reference files use, so the templates reproduce those files row by row.

Each entry is ``(singular form, plural form)``. A phrase may have several words ("taxi driver",
"is tall"); only the words that differ between the two forms carry the number.
"""

from __future__ import annotations

Forms = tuple[str, str]

# Main-clause subjects (LM_syneval's ``MS``).
SUBJECT_NOUNS: tuple[Forms, ...] = (
    ("author", "authors"), ("pilot", "pilots"), ("surgeon", "surgeons"), ("farmer", "farmers"),
    ("manager", "managers"), ("customer", "customers"), ("officer", "officers"), ("teacher", "teachers"),
    ("senator", "senators"), ("consultant", "consultants"),
)

# Animate attractors inside the relative clause / prepositional phrase (``ES``).
ATTRACTOR_NOUNS: tuple[Forms, ...] = (
    ("guard", "guards"), ("chef", "chefs"), ("architect", "architects"), ("skater", "skaters"),
    ("dancer", "dancers"), ("minister", "ministers"), ("taxi driver", "taxi drivers"),
    ("assistant", "assistants"), ("executive", "executives"), ("parent", "parents"),
)

# Transitive verbs of the relative clause (``EV``).
EMBEDDED_VERBS: tuple[Forms, ...] = (("likes", "like"), ("admires", "admire"), ("hates", "hate"), ("loves", "love"))

# Main verbs / predicates that agree with the subject (``MV``); the first word carries the number.
MAIN_VERBS: tuple[Forms, ...] = (
    ("laughs", "laugh"), ("swims", "swim"), ("smiles", "smile"),
    ("is tall", "are tall"), ("is old", "are old"), ("is young", "are young"), ("is short", "are short"),
)

# Prepositions of ``prep_anim`` (``P``); they do not agree.
PREPOSITIONS: tuple[str, ...] = ("next to", "behind", "in front of", "near", "to the side of", "across from")

# Subjects and verbs of the matrix clause in ``sent_comp`` (``BS``, ``BV``); ``BS`` is the attractor there.
MATRIX_NOUNS: tuple[Forms, ...] = (("mechanic", "mechanics"), ("banker", "bankers"))
MATRIX_VERBS: tuple[str, ...] = ("said", "thought", "knew")

# Past-tense verbs taking a reflexive object in ``reflexives_across`` (``RMV``); no agreement.
REFLEXIVE_VERBS: tuple[str, ...] = ("hurt", "injured", "congratulated", "embarrassed", "disguised", "hated", "doubted")

# Reflexive anaphors (``ANPHR``): a singular subject takes himself or herself, a plural one themselves.
ANAPHORS: tuple[Forms, ...] = (("himself", "themselves"), ("herself", "themselves"))
