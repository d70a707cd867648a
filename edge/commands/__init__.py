"""One module per ``edge-pose`` subcommand.

Each module defines ``register(subparsers)``, which adds its parser and sets ``func`` to a
``run(args) -> int`` function. Modules import only what parsing needs; heavy or hardware
libraries are imported inside ``run``.
"""
