"""`python -m assistant` runs the command-line interface."""

from assistant.cli import main

raise SystemExit(main())
