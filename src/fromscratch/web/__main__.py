"""`python -m fromscratch.web module:app [--host H] [--port P]`."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
