"""Exponential backoff with jitter: the delays between retries and between idle polls."""

import random
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class BackoffPolicy:
    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5  # the fraction of each delay that is random: 0.5 gives [d/2, d]

    def capped(self, maximum: float) -> "BackoffPolicy":
        return replace(self, initial=min(self.initial, maximum), maximum=maximum)


class Backoff:
    """Successive delays of one policy: initial, initial*factor, ... up to maximum."""

    def __init__(self, policy: BackoffPolicy) -> None:
        self.policy = policy
        self.attempts = 0

    def next_delay(self) -> float:
        p = self.policy
        base = min(p.maximum, p.initial * p.factor ** min(self.attempts, 60))
        self.attempts += 1
        return base * (1 - p.jitter * random.random())

    def reset(self) -> None:
        self.attempts = 0
