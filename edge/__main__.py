"""``python -m edge`` is the ``edge-pose`` command."""

from edge.cli import main

raise SystemExit(main())
