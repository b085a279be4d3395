"""The platform's backend: a web API over projects (Git repositories), users, clusters and secrets.

``create_app(PlatformSettings(data_dir=...))`` builds the FastAPI application; ``headwater server``
serves it with uvicorn.
"""

from headwater.platform.server import create_app
from headwater.platform.settings import PlatformSettings

__all__ = ["PlatformSettings", "create_app"]
