"""`python -m tuning [flags]`: the same as `zcnas tune [flags]`, for tune scripts."""

import sys

from tuning.cli import main

if __name__ == "__main__":
    sys.exit(main(["tune", *sys.argv[1:]]))
