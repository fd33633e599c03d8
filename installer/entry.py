"""PyInstaller entry point: the same `field-app` command as the console script."""

import multiprocessing
import sys

from field_app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
