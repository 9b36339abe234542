"""Serve a Flask app file with ``socketio.run`` on a given port (the tests' way to start one).

usage: python _serve.py APP_FILE PORT [--reload]

The module is loaded from its file (its templates and static folder resolve
next to it); its ``app`` is served, or the one ``create_app()`` returns. The
seed's own ``if __name__ == '__main__': socketio.run(app)`` would bind port
5000; this runs the same call with the port the test chose.
"""

import importlib.util
import os
import sys


def main() -> None:
    path, port = os.path.abspath(sys.argv[1]), int(sys.argv[2])
    sys.path.insert(0, os.path.dirname(path))
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    app = getattr(module, "app", None) or module.create_app()
    socketio = app.extensions["socketio"]
    socketio.run(app, port=port, use_reloader="--reload" in sys.argv)


if __name__ == "__main__":
    main()
