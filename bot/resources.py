"""Files the bot reads at run time, shipped inside the `bot` package.

Catalogs (`locale/`), reference data (`data/`) and the Alembic scripts (`migrations/`)
are found through `importlib.resources`, so an installed wheel, an editable install and
a checkout on `PYTHONPATH` all read them the same way. The catalogs are edited in the
repository's top-level `locale/` (SPEC §1); `bot/locale` is a link to that folder, which
is how the build puts them into the wheel (pyproject.toml, package-data).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def shipped(*parts: str) -> Path:
    """A file or folder shipped in the `bot` package, as a path on disk."""
    resource = files("bot").joinpath(*parts)
    if not isinstance(resource, Path):
        # Alembic and the catalog loader read real files. pip installs a wheel as files;
        # only an import from a zip archive ends here.
        raise RuntimeError(f"dieuphoi must be installed as files, not imported from {resource}")
    return resource
