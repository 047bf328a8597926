"""`python -m pilotbench.cli`, as `python -m pilotbench`."""

from . import main

raise SystemExit(main())
