"""python -m emqx_schema: see emqx_schema.cli."""

from .cli import main

raise SystemExit(main())
