"""Every setting of the service and the command line, read from the environment (prefix BILU_).

Built once in `main()` and passed down; nothing reads the environment at import time.
"""
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".local" / "share" / "bilu"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BILU_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="All data: bilu.db and the audio files.")
    database_url: str | None = Field(
        None, description="postgresql://… : keep the records in that PostgreSQL database instead of "
                          "BILU_HOME/bilu.db (the audio stays under BILU_HOME/audio).")
    asr_model: str = Field("base", description="'base' (embedded Whisper base) or a CTranslate2 Whisper folder.")
    asr_compute: str = Field("int8", description="CTranslate2 compute type: int8, int8_float32, int16, float32, "
                                                 "default (the model's own); on a GPU also float16, int8_float16.")
    asr_device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where recognition runs: auto (a CUDA GPU when one is seen, else the CPU), cpu, cuda.")
    asr_threads: int = Field(0, ge=0, description="CPU threads for recognition; 0 lets CTranslate2 choose.")
    asr_beam_size: int = Field(5, ge=1, le=10, description="Beam search width; 1 is greedy and faster.")
    # 0 by default: batched decoding with timestamp tokens lost the end of a chunk on a test clip (README, "Faster
    # files"); until that is guarded against, batching is the operator's choice.
    asr_batch_size: int = Field(0, ge=0, le=64, description="Recorded files: speech chunks of up to 30 s that "
                                "Whisper recognises together (faster-whisper's batched pipeline, e.g. 8); 0 "
                                "recognises them one after another (slower, with Whisper's temperature fallback).")
    model_cache: Path | None = Field(None, description="Where the embedded model is assembled (~/.cache/bilu/models).")
    rules_dir: Path | None = Field(None, description="Extra folder of procedural rule files (TOML), beside the shipped ones.")
    diarizer: str = Field("auto", description="auto (channel for multi-channel files, voice for mono), channel, "
                                              "voice, or pyannote (needs pyannote_pipeline).")
    pyannote_pipeline: Path | None = Field(None, description="Folder of a pyannote speaker-diarization pipeline "
                                                             "(config.yaml and its models), for diarizer=pyannote.")
    host: str = Field("127.0.0.1", description="Address `bilu serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `bilu serve` listens on.")
    log_level: str = Field("WARNING", description="DEBUG, INFO, WARNING or ERROR (logs go to stderr).")
    secret_key: SecretStr | None = Field(
        None, description="Signs login cookies and CSRF tokens; default: generated once into BILU_HOME/secret_key.")
    cookie_secure: bool | None = Field(
        None, description="Mark the login cookie Secure; default: yes, except over plain http to a loopback address.")
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="How long a browser login lasts.")
    token_days: int = Field(30, ge=1, le=366, description="Default lifetime of an API token.")
    login_max_failures: int = Field(5, ge=1, description="Failed logins to one account from one address before "
                                                         "a delay (429) starts there; other addresses are not held.")
    login_account_max_failures: int = Field(20, ge=1, description="Failed logins to one account from all "
                                                                  "addresses before the whole account is held.")
    login_delay_s: float = Field(30.0, gt=0, description="The first delay (seconds); it doubles with each "
                                                         "further failure.")
    login_max_delay_s: float = Field(900.0, gt=0, description="The longest delay (seconds).")
    login_window_s: int = Field(3600, ge=1, description="A count of failed logins is forgotten this long "
                                                        "(seconds) after its last failure.")
    max_upload_mb: int = Field(1024, ge=1, description="Largest upload (request body, MiB) POST "
                                                       "/cases/{case_no}/recordings accepts; larger gets 413.")
    file_window_s: float = Field(600.0, ge=10, le=24 * 3600, description="A recorded file longer than this (seconds) is decoded, "
                                 "diarized and transcribed in windows of about this length (flat memory).")
    broker_url: str | None = Field(None, description="Redis URL of the work queue (redis://host:6379/0): the service "
                                                     "and `bilu transcribe` send file transcriptions and recoveries "
                                                     "to `bilu worker` processes. Unset: they run in-process.")
    broker_visibility_s: int = Field(4 * 3600, ge=5, description="A job a worker took and has not finished goes "
                                     "back to the queue after this long (seconds): longer than the longest file job.")
    broker_busy_retry_s: float = Field(30.0, gt=0, description="A job whose session another process is working on "
                                       "comes back after this long (seconds), to take over if that process dies.")

    live_on_workers: bool = Field(False, description="With BILU_BROKER_URL: a room agent's live session is "
                                  "recognised by a `bilu worker` (its audio referenced through a Redis stream), not "
                                  "by the node the agent streams to; it moves to another worker if that one dies.")

    def open_store(self):
        """The store these settings name: PostgreSQL at `database_url` when set, else SQLite in `home` (the audio
        is under `home/audio` either way). Every command, the service and the workers open it here, so that no
        caller can forget `database_url`."""
        from cases import Store  # cases sits below engine; imported here so that settings load without the store

        return Store.open(self.home, database_url=self.database_url)
