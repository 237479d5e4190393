"""`python -m vre_app`: the ops CLI (see `vre_app.cli`)."""

from __future__ import annotations

from vre_app.cli import main

raise SystemExit(main())
