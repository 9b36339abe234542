"""``python -m socketio_core.echo``: the standalone echo server."""

import sys

from . import main

sys.exit(main())
