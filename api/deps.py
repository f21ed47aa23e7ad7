"""FastAPI dependencies shared by the routers."""
from typing import Annotated, Iterator

from fastapi import Depends, Request

from cases import Store

from engine.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(settings: Annotated[Settings, Depends(get_settings)]) -> Iterator[Store]:
    # One connection per request: SQLite connections must not cross threads, and WAL lets readers share.
    store = settings.open_store()
    try:
        yield store
    finally:
        store.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
