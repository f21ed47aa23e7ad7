"""GET /health."""
from typing import Literal

from api.schemas.base import Public


class HealthPublic(Public):
    status: Literal["ok"]
