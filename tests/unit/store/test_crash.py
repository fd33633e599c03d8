"""SIGKILL at random moments while entries and media are being written (tests/harness/store_crash.py):
after every kill the store opens, everything acknowledged is there, a cut media write comes back as an
exact prefix, and the verifier is clean. bench/store_crash.py runs the same loop with the full count."""

from __future__ import annotations

import os

from tests.harness.store_crash import run_many

RUNS = 200


def test_sigkill_at_random_points_loses_nothing_acknowledged(keyring_env, tmp_path, hq_keys):
    results = run_many(RUNS, tmp_path, dict(os.environ), hq_public_key=hq_keys[1], seed=20261120)
    assert len(results) == RUNS
    # The kills really landed in different phases (otherwise the test proves little):
    assert sum(r.entries_acked for r in results) > 5 * RUNS
    assert sum(r.media_acked for r in results) > RUNS // 2
    assert any(r.killed_before_ready for r in results)
    assert any(r.partial_recovered for r in results)
