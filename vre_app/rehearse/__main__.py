"""`python -m vre_app.rehearse` (`make rehearse`): see `vre_app.rehearse.harness`."""

from __future__ import annotations

from vre_app.rehearse.harness import main

raise SystemExit(main())
