"""A/B, optional and off by default: a share of the keyed traffic answered by the challenger, sticky per key.

A caller that wants its requests in the experiment sends a key of its own in the X-AB-Key header (a user or
session id: the same key always lands in the same arm). The arm is the key's SHA-256 read as a fraction of 2^64:
below the share (`serve --ab-share S`, else SERVE_AB_SHARE, default 0: off), the challenger answers; else the
production model. A request without a key is answered by production, always, and is in neither arm. The key is
never logged, only the arm.

The production model scores every row as today. The challenger then scores the rows of its arm on the request's
path (it answers them), split in halves down to the rows it fails on (release/shadow.py): a row it cannot answer,
or every row when it did not load, is answered by production, and counted as a fallback on /health (`ab`) and in
the service's log; never an error because of the challenger. The log's rows carry the arm (`arm`: production,
challenger, or null without a key) under the model that answered them: the challenger's own version and digest,
or production's for a fallback. The shadow, when on, scores the rows production answered outside the challenger's
arm. With the share at 0 the service, its /health and its log are exactly as without A/B.
"""

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import UserError

if TYPE_CHECKING:
    import pandas as pd

    from .shadow import Shadow

LOGGER = logging.getLogger(__name__)
SHARE_VARIABLE = "SERVE_AB_SHARE"
KEY_HEADER = "X-AB-Key"
MAX_KEY_CHARS = 256
PRODUCTION, CHALLENGER = "production", "challenger"
ARM = "arm"  # the log's column


def share_of(text: str | None, source: str = SHARE_VARIABLE) -> float:
    """The share of keyed traffic the challenger answers: a number from 0 to 1 (unset or empty: 0)."""
    text = (text or "").strip()
    if not text:
        return 0.0
    try:
        share = float(text)
    except ValueError:
        share = float("nan")
    if not 0 <= share <= 1:
        raise UserError(
            f"{source} is {text!r}: give the share of keyed traffic the challenger answers, from 0 (off) to 1, "
            "e.g. 0.1"
        )
    return share


def share_from_environment(environ: Mapping[str, str] = os.environ) -> float:
    return share_of(environ.get(SHARE_VARIABLE))


def arm(key: str | None, share: float) -> str | None:
    """The arm of a request with `key`: None without a key (production answers, outside the experiment)."""
    if not key:
        return None
    fraction = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    return CHALLENGER if fraction < share else PRODUCTION


def require_a_challenger(share: float, challenger: object) -> None:
    """Refuse a share above 0 for a service without a challenger (--shadow)."""
    if share > 0 and challenger is None:
        raise UserError(
            f"the A/B share is {share:g} (--ab-share or {SHARE_VARIABLE}) but the service has no challenger: "
            "give --shadow PATH, or set the share to 0"
        )


@dataclass
class Counts:
    """What /health says of the experiment: rows each arm's model answered, the fallbacks and why."""

    share: float
    production: int = 0
    challenger: int = 0
    fallback: int = 0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "share": self.share,
            "production": self.production,
            "challenger": self.challenger,
            "fallback": self.fallback,
            "error": self.error,
        }


@dataclass
class Served:
    """A batch's answers as served: the answer frame, each row's arm, which rows the challenger answered (and the
    milliseconds of its calls)."""

    answer: "pd.DataFrame"
    arms: list[str | None]
    by_challenger: list[bool]
    challenger_answer: "pd.DataFrame | None" = None
    challenger_ms: float = 0.0
    fallback: int = 0
    problems: list[str] = field(default_factory=list)


class Experiment:
    """The A/B split of a service whose challenger is `shadow` (loaded or not)."""

    def __init__(self, share: float, shadow: "Shadow | None") -> None:
        require_a_challenger(share, shadow)
        self.shadow, self.counts = shadow, Counts(share)

    def serve(self, frame: "pd.DataFrame", answer: "pd.DataFrame", arms: list[str | None]) -> Served:
        """The batch's answers with the challenger's for the rows of its arm it could answer."""
        import numpy as np

        assert self.shadow is not None
        rows = np.flatnonzero([arm == CHALLENGER for arm in arms])
        served = Served(answer, arms, [False] * len(arms))
        if len(rows):
            parts = self.shadow.answer_now(frame.iloc[rows])
            if parts is None:
                served.problems.append(f"challenger {self.shadow.state}")
            else:
                self._take(served, rows, parts)
        fallback = len(rows) - sum(served.by_challenger)
        self.counts.fallback += fallback
        self.counts.challenger += len(rows) - fallback
        self.counts.production += len(arms) - len(rows)
        if fallback:
            self.counts.error = served.problems[-1]
            LOGGER.error(
                "A/B: production answered %d of %d rows of the challenger's arm: %s",
                fallback,
                len(rows),
                "; ".join(served.problems[:3]),
            )
        served.fallback = fallback
        return served

    @staticmethod
    def _take(served: Served, rows, parts) -> None:
        """Put the challenger's answers of the parts it scored in place of production's (a copy)."""
        import numpy as np

        from .shadow import failure_category

        answer = served.answer.copy()
        scored = [part for part in parts if part.answer is not None]
        for part in parts:
            if part.error is not None:
                served.problems.append(failure_category(part.error))
        for part in scored:
            positions = rows[part.start : part.stop]
            for column in answer.columns:
                values = answer[column].to_numpy(copy=True)
                values[positions] = part.answer[column].to_numpy()
                answer[column] = values
            for position in positions:
                served.by_challenger[position] = True
        chosen = np.flatnonzero(served.by_challenger)
        served.answer = answer
        served.challenger_answer = answer.iloc[chosen].reset_index(drop=True) if len(chosen) else None
        served.challenger_ms = sum(part.score_ms for part in scored)
