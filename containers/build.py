#!/usr/bin/env python3
"""Build the framework images in this folder: ``python containers/build.py [NAME...] [--no-cache]``.

Calls :func:`framework_sdk.images.build` (the same as ``framework-sdk images build``) and
prints each image's tag, size and build time. See doc/images.md.
"""
import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from framework_sdk.images import ImageError, build


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the framework images under containers/ and report their sizes.")
    parser.add_argument("names", nargs="*", help="image folders to build (default: all)")
    parser.add_argument("--no-cache", action="store_true", help="rebuild every layer")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every line of the build output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        results = build(args.names or None, nocache=args.no_cache, verbose=args.verbose)
    except ImageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for result in results:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
