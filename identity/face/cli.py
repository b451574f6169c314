"""Command-line entry points, wired as ``mobile-court face calibrate`` / ``face compare``.

Both take ``argv`` without the command words and return a process exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from identity.face import calibrate as calibration
from identity.face import engine


def calibrate_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mobile-court face calibrate",
        description="Genuine/impostor distance statistics, ROC and threshold on a labelled folder.",
    )
    parser.add_argument("folder", type=Path, help="folder with photos and LABELS.csv")
    parser.add_argument(
        "--target-far", type=float, default=0.0, help="target false-accept rate (default 0)"
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=calibration.DEFAULT_MARGIN,
        help="safety margin subtracted from the threshold at the target FAR "
        f"(default {calibration.DEFAULT_MARGIN})",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = parser.parse_args(argv)
    if not 0 <= args.target_far < 1:
        parser.error("--target-far must be in [0, 1)")
    try:
        result = calibration.calibrate(args.folder, target_far=args.target_far, margin=args.margin)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(calibration.format_report(result))
    return 0


def compare_main(argv: Sequence[str] | None = None) -> int:
    """Print a JSON verdict for two photos; exit 0 match, 1 no match, 2 unusable photo."""
    parser = argparse.ArgumentParser(
        prog="mobile-court face compare",
        description="Compare the faces in two photos (ID portrait first, then the selfie).",
    )
    parser.add_argument("a", type=Path, help="reference photo (ID portrait)")
    parser.add_argument("b", type=Path, help="probe photo (selfie)")
    parser.add_argument("--threshold", type=float, default=engine.MATCH_THRESHOLD)
    args = parser.parse_args(argv)
    faces: list[engine.FaceAnalysis] = []
    for path in (args.a, args.b):
        try:
            faces.append(engine.analyse_photo(path.read_bytes(), subject=str(path)))
        except OSError as exc:
            print(
                json.dumps(
                    {
                        "error": "unreadable_file",
                        "subject": str(path),
                        "detail": exc.strerror or str(exc),
                    }
                )
            )
            return 2
        except engine.FaceError as exc:
            print(json.dumps({"error": exc.code, **exc.to_dict()}, ensure_ascii=False))
            return 2
    verdict = engine.compare(faces[0], faces[1], args.threshold)
    print(json.dumps(verdict.to_dict()))
    return 0 if verdict.match else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m identity.face.cli {calibrate,compare} ...`` until the main CLI wires them."""
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {"calibrate": calibrate_main, "compare": compare_main}
    if not args or args[0] not in commands:
        print("usage: python -m identity.face.cli {calibrate,compare} ...", file=sys.stderr)
        return 2
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
