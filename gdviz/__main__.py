"""`python -m gdviz` behaves exactly like the `gdviz` command."""

import sys

from gdviz.cli import main

if __name__ == "__main__":
    sys.exit(main())
