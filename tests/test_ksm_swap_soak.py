"""A longer soak of test_ksm_swap_stateful's machine (``slow``).

The default suite runs KsmSwapMemory derandomized with a few short examples;
this runs it with fresh random seeds, longer sequences and no shrinking (a
failing sequence is printed as it ran, every step), under both profiles.
Sizes come from the environment:

    PAGEMIG_SOAK_EXAMPLES (default 150), PAGEMIG_SOAK_STEPS (default 80)

    PAGEMIG_SOAK_EXAMPLES=400 PAGEMIG_SOAK_STEPS=100 \\
        .venv/bin/pytest -m slow tests/test_ksm_swap_soak.py -k 61 -p no:randomly

``--hypothesis-seed=N`` replays one run.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.test_ksm_swap_stateful import KsmSwapMemory, KsmSwapMemory61

EXAMPLES = int(os.environ.get("PAGEMIG_SOAK_EXAMPLES", "150"))
STEPS = int(os.environ.get("PAGEMIG_SOAK_STEPS", "80"))

SOAK = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=False,
    database=None, phases=[Phase.explicit, Phase.generate], print_blob=True,
    suppress_health_check=list(HealthCheck),
)



# Subclasses: a machine's TestCase (and its settings) is cached per class.
class KsmSwapSoak(KsmSwapMemory):
    pass


class KsmSwapSoak61(KsmSwapMemory61):
    pass


TestKsmSwapSoak = pytest.mark.slow(KsmSwapSoak.TestCase)
TestKsmSwapSoak.settings = SOAK

TestKsmSwapSoak61 = pytest.mark.slow(KsmSwapSoak61.TestCase)
TestKsmSwapSoak61.settings = SOAK
