"""Small toy data sets, generated in-process: no download."""
from __future__ import annotations

import math
import random
from typing import List, Optional, Tuple

__all__ = ["make_moons"]


def make_moons(n: int = 100, noise: float = 0.1,
               seed: Optional[int] = None) -> Tuple[List[List[float]], List[int]]:
    """Two interleaving half circles, as scikit-learn's make_moons draws them.

    Returns (X, y): n points [x0, x1] and their labels, -1 for the upper
    moon and +1 for the lower one (the signs a max-margin loss wants), in a
    shuffled order. noise is the standard deviation of Gaussian noise added to
    each coordinate; seed makes the set repeatable."""
    if type(n) is not int or n < 2:
        raise ValueError(f"n must be an int of at least 2, not {n!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, not {noise!r}")
    rng = random.Random(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    points = []
    for k in range(n_upper):
        t = math.pi * k / (n_upper - 1) if n_upper > 1 else 0.0
        points.append(([math.cos(t), math.sin(t)], -1))
    for k in range(n_lower):
        t = math.pi * k / (n_lower - 1) if n_lower > 1 else 0.0
        points.append(([1 - math.cos(t), 0.5 - math.sin(t)], 1))
    rng.shuffle(points)
    X = [[x0 + rng.gauss(0, noise), x1 + rng.gauss(0, noise)] for (x0, x1), _ in points]
    y = [label for _, label in points]
    return X, y
