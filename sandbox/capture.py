"""Read a child's output pipe in a thread, keeping only the first bytes.

The reader drains the pipe to the end even after the cap is reached, so a chatty script
never blocks on a full pipe (which would turn an output flood into a wall-clock kill);
it only counts what it drops.
"""

from __future__ import annotations

import os
import threading
from typing import IO

_CHUNK = 65536


class CappedReader:
    """Collects up to ``cap`` bytes from ``stream`` on a daemon thread."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        self._stream = stream
        self._cap = cap
        self._kept = bytearray()
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._stream:
            # os.read returns what the pipe holds now, rather than waiting for a full chunk.
            while chunk := os.read(self._stream.fileno(), _CHUNK):
                room = self._cap - len(self._kept)
                if room > 0:
                    self._kept += chunk[:room]
                self.dropped += max(0, len(chunk) - max(room, 0))

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def text(self) -> str:
        """The kept head, decoded leniently, with a note of how much was cut."""
        text = self._kept.decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[output cut: {self.dropped} more bytes not kept]\n"
        return text
