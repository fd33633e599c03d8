"""The recording kill loop with the full count (the test suite runs 50).

    .venv/bin/python -m bench.capture_crash [--runs 300] [--seed 7] [--scene moving|static]

Each run: a forked child records (synthetic sources, real encoder, real encrypted store) and is
SIGKILLed at a random moment; the store is reopened, the recording recovered and verified. Prints
the worst and mean loss (last acknowledged frame vs end of what the store holds). Exit 1 on any
failure or a loss above 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scene", choices=("moving", "static"), default="moving",
                        help="static: a still picture, encoded far below the bitrate (the hardest case)")
    args = parser.parse_args(argv)
    os.environ["FIELD_CRASH_SCENE"] = args.scene  # read by the recording child

    from field_app.store.escrow import generate_hq_keypair
    from tests.harness.capture_crash import Zygote, kill_and_check, make_store
    from tests.harness.daemons import private_keyring

    rng = random.Random(args.seed)
    losses, truncated, failures = [], 0, []
    with tempfile.TemporaryDirectory() as tmp, private_keyring(Path(tmp)):
        root = Path(tmp)
        zygote = Zygote(dict(os.environ))
        hq_public = generate_hq_keypair()[1]
        try:
            for run in range(args.runs):
                data_dir = root / f"run{run}"
                make_store(data_dir, hq_public)
                try:
                    result = kill_and_check(zygote, data_dir, root / f"ack{run}.txt", rng)
                except AssertionError as exc:
                    failures.append(f"run {run}: {exc}")
                    continue
                losses.append(result.lost)
                truncated += result.truncated
                if result.lost > 1.0:
                    failures.append(f"run {run}: lost {result.lost:.2f} s")
        finally:
            zygote.close()
    print(f"capture crash bench: {args.runs} SIGKILLs during recording ({args.scene} picture)")
    if losses:
        print(f"  loss after recovery: worst {max(losses):.2f} s, mean {statistics.mean(losses):.2f} s, "
              f"median {statistics.median(losses):.2f} s; {truncated} cut segments recovered")
    for failure in failures:
        print("  FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
