"""`python -m bot` is the same as the `dieuphoi` console script."""

from bot.cli import main

raise SystemExit(main())
