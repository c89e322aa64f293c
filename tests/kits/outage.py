"""A store server the tests can take down for a while and bring back (a restart, a network blip)."""

from __future__ import annotations

import threading
import time


class Outages:
    """Mixin: ``go_down_for(seconds)`` calls the server's ``down()`` now and its ``up()`` that much later,
    in the background; ``wait_until_back()`` joins that restart."""

    outage: threading.Thread | None = None

    def down(self) -> None:
        raise NotImplementedError

    def up(self) -> object:
        raise NotImplementedError

    def go_down_for(self, seconds: float) -> None:
        """Stop now, start again ``seconds`` later (in the background)."""
        self.down()

        def back() -> None:
            time.sleep(seconds)
            self.up()

        self.outage = threading.Thread(target=back, daemon=True)
        self.outage.start()

    def wait_until_back(self) -> None:
        if self.outage is not None:
            self.outage.join()
