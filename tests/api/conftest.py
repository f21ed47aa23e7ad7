import pytest

from engine.pipeline import FileRequest, Pipeline
from engine.settings import Settings
from cases import Store


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory, data_dir, whisper_model):
    """A BILU_HOME holding the two-seat mix, transcribed once for the module: (settings, session id)."""
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    with Store.open(settings.home) as store:
        result = Pipeline(settings, model=whisper_model).transcribe_file(
            store,
            FileRequest(path=data_dir / "dev_room_2spk.seats.flac", case_no="A-2026-0001", room="一号讯问室",
                        seat_roles=("讯问人", "被讯问人")),
        )
    return settings, result.session_id
