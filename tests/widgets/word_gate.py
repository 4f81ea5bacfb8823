"""A run held after its first word, so a test can click Cancel while the run is going."""

from __future__ import annotations

import threading


class FirstWordGate:
    """Registered as the Explorer's ``on_word`` callback: after the first word the run waits
    (at most 30 s) until :meth:`release`; ``arrived`` is set when it does."""

    def __init__(self, explorer):
        self.explorer = explorer
        self.arrived, self._go = threading.Event(), threading.Event()
        explorer.on_word(self)

    def __call__(self, _word) -> None:
        if self.explorer.words_done == 1:
            self.arrived.set()
            self._go.wait(30)

    def release(self) -> None:
        self._go.set()

    def remove(self) -> None:
        self.explorer.on_word(self, remove=True)
