"""The results browser: `pilotbench view` serves the store as web pages; `--export DIR` writes them.

    from pilotbench.store import open_store
    from pilotbench.view import make_app, export_site
    export_site(open_store("results.db", create=False), "site/")
"""

from .app import DEFAULT_HOST, DEFAULT_PORT, make_app, serve
from .export import export_site

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "export_site", "make_app", "serve"]
