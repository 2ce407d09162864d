"""`python -m devtools.walkthrough --set ci|full --out DIR [--shared ../shared] [--seed N]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from devtools.walkthrough.build import SETS, build_set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.walkthrough", description=__doc__)
    parser.add_argument("--set", choices=sorted(SETS), required=True, help="ci: one short clip; full: the whole set")
    parser.add_argument("--out", type=Path, required=True, help="folder for the clips, truth files and index.json")
    parser.add_argument("--shared", type=Path, default=Path("../shared"), help="the shared data folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.shared / "datasets").is_dir():
        print(f"no shared data at {args.shared} (give --shared)", file=sys.stderr)
        return 2
    truths = build_set(args.set, args.out, args.shared, args.seed)
    index = json.loads((args.out / "index.json").read_text())
    for path in truths:
        print(f"wrote {path.with_name(path.name.replace('.truth.json', '.mp4'))} and {path.name}")
    print(f"index: {args.out / 'index.json'}; pool cache: {args.out / 'pool.json'}")
    print(f"totals: {json.dumps(index['totals'])}; built in {index['build_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
