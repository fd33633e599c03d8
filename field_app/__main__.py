"""`python -m field_app` is the same as the `field-app` console script."""

import sys

from field_app.cli import main

sys.exit(main())
