"""The web app: server-rendered pages and the /api/v1 REST API over the same services, with roles and an audit log.

    from clearsite.web import Settings, create_app
    app = create_app(engine, load_knowledge(), Settings(secure_cookies=True))
"""

from clearsite.web.app import create_app
from clearsite.web.settings import Settings

__all__ = ["Settings", "create_app"]
