"""A live room session: audio in, on disk first, a transcript that grows while people speak.

    source (microphone or replayed file) ──► SegmentRecorder (WAV segments, fsynced) ──► on_written
        ──► transcriber thread: 16 kHz ──► StreamingTranscriber ──► labeller thread: who spoke ──► store
                                                     │                    (channel / voice)
                                                     └──► events (tentative; utterance, speaker, alert)

Nothing is recognised before it is on disk. The recording ends on stop (Ctrl-C, SIGTERM, the service's stop
route), at the duration, at the end of a replayed file, or when the device is lost (the session is then
"interrupted", with everything recorded kept), or when the disk fills (the same, the error naming the full disk;
a recording is refused at the start when its disk cannot hold a second of audio). The last words are
transcribed before the session closes.
A lock file marks a recording in progress: a session still "transcribing" whose lock is free was left by a
recorder that died, and `recover` finishes it.
"""
import errno
import fcntl
import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from capture import AudioChunk, ChunkResampler, DeviceLost, RecordingError, SegmentInfo, SegmentRecorder
from cases import SYSTEM_ACTOR, Actor, Store
from cases.segments import segments_digest
from diarize import SpeakerTurn, make_online_labeller, speaker_roles
from lexicon import LiveChecker, Statement
from transcribe import StreamingTranscriber, TranscribeOptions, Utterance

from engine.checking import DEFAULT_RULE_SET, check_session, rule_set_for
from engine.guardrails import GUARD_POLL_S, GuardrailWatch, alert_message, guards_for
from engine.session_run import RESUME_KEY, SessionOptions
from engine.settings import Settings

log = logging.getLogger(__name__)

EventCallback = Callable[[dict], None]
LOCK_NAME = ".recording.lock"
# Multi-channel 16 kHz audio kept for telling speakers apart: the streaming buffer never holds more than
# 25 s, so an utterance is always inside the last minute.
_ATTRIBUTION_KEEP_S = 60.0
_STOP = object()
# Audio on either side of an utterance handed to the labeller (the channel labeller looks 0.3 s beyond it).
_LABEL_MARGIN_S = 1.0
# A recording is refused when its disk cannot hold this much audio: it would stop at once.
_MIN_FREE_S = 1.0
# How an interrupted session's error starts when the microphone went away (the page shows it as such).
DEVICE_LOST_ERROR = "the audio device was lost"
# In a live session's stored options: its recognition runs on the workers (BILU_LIVE_ON_WORKERS, engine/live_job.py).
ON_WORKERS_KEY = "on_workers"


def recognised_on_workers(session: dict) -> bool:
    """Whether a stored session is a room agent's recognised on the workers, not by the node receiving it."""
    return session["kind"] == "live" and bool((session.get("options") or {}).get(ON_WORKERS_KEY))


@dataclass(frozen=True, slots=True)
class LiveRequest:
    case_no: str
    room: str
    seat_roles: tuple[str, ...] = ()
    diarizer: str | None = None  # None: channel when the source has two or more channels, else voice
    rule_set: str = DEFAULT_RULE_SET
    conditions: tuple[str, ...] = ()
    segment_s: float = 5.0
    hotwords: str | None = None  # words to favour in recognition, in every pass and after a crash
    source_name: str | None = None  # the input device, as the session record and the live page name it
    actor: Actor = SYSTEM_ACTOR  # who starts it: the page's user; the command line and a room agent are "system"
    started_as: str | None = None  # "session.recording_started" from the page: audited with the session's row
    on_workers: bool = False  # a room agent's session recognised on the workers (recorded in the session's options)


def utterance_message(utterance_id: int | None, u: Utterance, role: str | None) -> dict:
    """An utterance as the WebSocket and the batch JSON export show it."""
    return {
        "id": utterance_id, "start_s": u.start_s, "end_s": u.end_s, "speaker": u.speaker, "role": role,
        "channel": u.channel, "text": u.text, "committed": u.committed,
        "suspect": u.suspect, "not_speech": u.not_speech, "speech_probability": u.speech_probability,
        "energy_db": u.energy_db, "suspect_decision": None, "in_record": not u.not_speech,
        "words": [{"start_s": w.start_s, "end_s": w.end_s, "text": w.text, "probability": w.probability}
                  for w in u.words],
    }


PLAYBACK_NAME = "playback.wav"


def write_playback(folder: Path) -> Path:
    """A 16 kHz mono WAV of the whole session for the page's player (the archive keeps every seat at the
    device's rate). Written segment by segment, so memory stays small for hours of audio."""
    import wave

    from capture import read_segments, recover_segments

    target = folder / PLAYBACK_NAME
    partial = folder / f"{PLAYBACK_NAME}.{uuid.uuid4().hex}.part"  # two writers at once never share one
    written = 0  # frames at 16 kHz
    try:
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
            for segment in recover_segments(folder):
                audio = read_segments([segment], from_s=segment.start_s, sample_rate=16000)
                gap = int(round(segment.start_s * 16000)) - written
                if gap > 0:  # a gap in the recording stays silence, so times on the page stay true
                    out.writeframes(np.zeros(gap, dtype="<i2").tobytes())
                    written += gap
                mono = audio.samples.mean(axis=1)
                out.writeframes((np.clip(mono, -1, 1) * 32767).astype("<i2").tobytes())
                written += mono.shape[0]
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)  # a full disk must not be left fuller by a half copy
        raise
    return target


def ensure_playback(folder: Path) -> Path:
    """The session's playback copy, written now if closing could not write it (the disk was full then).

    Raises RecordingError naming the cause when it still cannot be written."""
    target = folder / PLAYBACK_NAME
    if target.is_file():
        return target
    try:
        return write_playback(folder)
    except OSError as exc:
        reason = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise RecordingError(f"the playback copy of {folder.name} cannot be written: {reason}; "
                             "the recorded segments themselves are intact") from exc


class LiveSession:
    """Runs one recording from `source` to the store. `run()` blocks until the recording ends."""

    def __init__(self, settings: Settings, store: Store, model, request: LiveRequest, *,
                 on_event: EventCallback | None = None):
        self.settings, self.store, self.model, self.request = settings, store, model, request
        self._on_event = on_event or (lambda message: None)
        rule_set_for(settings, request.rule_set, request.conditions)  # a bad rule set fails before anything
        self.stop_requested = threading.Event()
        self.session_id: int | None = None
        self.status = "starting"
        self._written: queue.SimpleQueue = queue.SimpleQueue()
        self._to_label: queue.SimpleQueue = queue.SimpleQueue()  # (utterance, audio, audio start) or _STOP
        self._roles: dict[str, str | None] = {}
        self._first_turns: list[SpeakerTurn] = []
        self._checklist_statuses: list[tuple[str, str]] = []
        self._heard_labels: dict[str, None] = {}
        self._labeller = None
        self._lock_file = None
        # What the live page shows of the device: how much audio it gave, and when its last chunk came.
        self.recorded_s = 0.0
        self.last_audio_at: float | None = None  # time.monotonic()
        self.levels_db: list[float] | None = None  # each seat's level over the last chunk (its meter)
        # One transcriber per session: its pass options are also what the session record states.
        self._options = TranscribeOptions(beam_size=settings.asr_beam_size, hotwords=request.hotwords)
        self._transcriber = StreamingTranscriber(model, options=self._options)

    def stop(self) -> None:
        self.stop_requested.set()

    def live_status(self) -> dict:
        """What the live page shows of the recording: audio recorded so far, seconds since the device's last
        chunk (a stalled device shows as a growing age), the device, each seat's level over the last chunk (dBFS)."""
        last = self.last_audio_at
        return {"recorded_s": round(self.recorded_s, 2),
                "audio_age_s": None if last is None else round(time.monotonic() - last, 2),
                "device": self.request.source_name, "channels": getattr(self, "channels", None),
                "sample_rate": getattr(self, "sample_rate", None), "levels_db": self.levels_db}

    def open(self, *, sample_rate: int, channels: int, source_name: str | None = None) -> int:
        """Create the session and its audio folder (held locked while recording); returns the session id."""
        folder = Path("audio") / "live" / uuid.uuid4().hex
        self._make_folder(self.store.home / folder, sample_rate=sample_rate, channels=channels)
        self.folder = self.store.home / folder
        diarizer = self.request.diarizer or ("channel" if channels >= 2 else "voice")
        self._labeller = make_online_labeller(diarizer)
        self.channels, self.sample_rate = channels, sample_rate
        self.session_id = self.store.create_session(
            case_no=self.request.case_no, room=self.request.room, kind="live",
            source_name=source_name or self.request.source_name,
            audio_path=folder.as_posix(), audio_sha256="", audio_bytes=0, duration_s=0.0, sample_rate=sample_rate,
            channels=channels, diarizer=diarizer, model=self.settings.asr_model,
            # What the streaming passes really use, the seat roles, and the options the rest of the recording is
            # transcribed with if the recorder dies (engine/session_run.py).
            options={**self._transcriber.pass_record(), "streaming": True,
                     "seat_roles": list(self.request.seat_roles), RESUME_KEY: self._options.as_record(),
                     **({ON_WORKERS_KEY: True} if self.request.on_workers else {})},
            actor=self.request.actor, started_as=self.request.started_as,
            started_detail=None if self.request.started_as is None else {"room": self.request.room},
        )
        self.store.set_rule_set(self.session_id, self.request.rule_set, self.request.conditions)
        self._live_checker = LiveChecker(rule_set_for(self.settings, self.request.rule_set, self.request.conditions))
        self.status = "recording"
        self._emit({"type": "state", "state": "recording"})
        return self.session_id

    def resume(self, session_id: int) -> float:
        """Take up a session this service left open when it stopped (a room agent's, whose audio is still
        coming), or a room agent's session on a worker (engine/live_job.py): its folder locked again (BlockingIOError
        while another process holds it), its speakers and roles, the checker fed what was committed.
        Returns the session time from which the audio is to be transcribed (fed again from the folder)."""
        session = self.store.get_session(session_id)
        self.session_id, self.folder = session_id, self.store.home / session["audio_path"]
        self.channels, self.sample_rate = session["channels"], session["sample_rate"]
        lock_file = open(self.folder / LOCK_NAME, "w")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            raise
        self._lock_file = lock_file
        self._labeller = make_online_labeller(session["diarizer"] or ("channel" if self.channels >= 2 else "voice"))
        self._live_checker = LiveChecker(rule_set_for(self.settings, session.get("rule_set") or self.request.rule_set,
                                                      tuple(session.get("conditions") or ())))
        kept = self.store.utterances(session_id)
        for speaker in session["speakers"]:
            self._roles[speaker["label"]] = speaker["role"]
            self._first_turns.append(SpeakerTurn(0.0, 0.0, speaker["label"], speaker["channel"]))
        self._heard_labels.update((u["speaker"], None) for u in kept if u.get("speaker"))
        for u in kept:  # the checklist goes on from where it was; its alerts were raised already
            try:
                self._live_checker.add(Statement(u["id"], u["start_s"], u["end_s"], u.get("role"), u["text"]))
            except Exception:
                log.exception("session %s: the live check could not take up a stored utterance", session_id)
        from_s = max([u["end_s"] for u in kept] + [self.store.transcribed_until(session_id)])
        # The passes as at the start (hotwords included), from the options the session stored then.
        stored = SessionOptions.of(session, self.settings).transcribe
        self._options = TranscribeOptions(beam_size=self.settings.asr_beam_size, hotwords=stored.hotwords)
        self._transcriber = StreamingTranscriber(self.model, options=self._options, start_s=from_s)
        self.status = "recording"
        self._emit({"type": "state", "state": "recording"})
        return from_s

    def attach(self, session_id: int) -> None:
        """The receiving node's hold on a room agent's session recognised on the workers, taken up after this node
        restarted (or the agent moved to it): the session's identity and folder, for storing what the agent sends;
        no lock (the worker holds it) and nothing recognised here."""
        session = self.store.get_session(session_id)
        self.session_id, self.folder = session_id, self.store.home / session["audio_path"]
        self.channels, self.sample_rate = session["channels"], session["sample_rate"]
        self.status = "recording"

    def let_go(self) -> None:
        """Let the session's folder lock go without closing the session: a worker takes it (BILU_LIVE_ON_WORKERS)."""
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _make_folder(self, folder: Path, *, sample_rate: int, channels: int) -> None:
        """The session's audio folder, locked; refused (before anything is stored) on a disk without room."""
        needed = int(_MIN_FREE_S * sample_rate * channels * 2)
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            stats = os.statvfs(folder.parent)
            free = stats.f_bavail * stats.f_frsize
            if free < needed:
                raise RecordingError(
                    f"cannot start recording: no space left on device for {folder.parent} ({free // 1024} KiB "
                    f"free; a recording needs at least {needed // 1024} KiB to start). Free space or enlarge the disk")
            folder.mkdir()
            self._lock_file = open(folder / LOCK_NAME, "w")
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            reason = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            raise RecordingError(f"cannot start recording: the audio folder {folder} cannot be created: "
                                 f"{reason}") from exc

    def run(self, source: Iterable[AudioChunk], *, duration_s: float | None = None) -> str:
        """Record `source` until it ends, stop() is called, or `duration_s` of audio; returns the final status."""
        iterator = iter(source)
        first = next(iterator, None)
        if first is None:
            raise RecordingError("the audio source gave no audio")
        if self.session_id is None:
            self.open(sample_rate=first.sample_rate, channels=first.channels)
        recorder = SegmentRecorder(self.folder, sample_rate=first.sample_rate, channels=first.channels,
                                   segment_s=self.request.segment_s, on_segment=self.segment_closed,
                                   on_written=self._written.put)
        threads = self._start_threads()
        final, error = "done", None
        recorded_s = 0.0
        try:
            with recorder:
                chunk = first
                while chunk is not None and not self.stop_requested.is_set():
                    recorder.write(chunk)
                    recorded_s = chunk.start_s + chunk.duration_s
                    self.heard(chunk)
                    if duration_s is not None and recorded_s >= duration_s:
                        break
                    chunk = next(iterator, None)
        except DeviceLost as exc:
            final, error = "interrupted", f"{DEVICE_LOST_ERROR}: {exc}"
            log.warning("session %s: the audio device was lost", self.session_id)
            self._emit({"type": "state", "state": "device_lost", "message": str(exc)})
        except RecordingError as exc:
            final, error = "interrupted", str(exc)
            log.error("session %s: %s", self.session_id, exc)
            self._emit({"type": "state", "state": "recording_error", "message": str(exc)})
        finally:
            self._join_threads(threads)
        self._close(final, error)
        return final

    def run_received(self, chunks: Iterable[AudioChunk]) -> str:
        """Transcribe audio another machine recorded and this one has already written to the session's folder
        (a room agent's stream, engine/received.py): each chunk is on disk here before it comes. The caller
        reports each segment with `segment_closed`. Ends when `chunks` ends: the session is then closed, unless
        `chunks.suspended` says the service is stopping mid-recording (the session stays open, its agent
        resends when the service is back, and `resume` goes on from what was stored)."""
        threads = self._start_threads()
        try:
            for chunk in chunks:
                self._written.put(chunk)
                self.heard(chunk)
        finally:
            self._join_threads(threads)
        if getattr(chunks, "suspended", False):
            self.status = "suspended"
            if self._lock_file is not None:
                self._lock_file.close()
            return self.status
        self._close("done", None)
        return "done"

    def heard(self, chunk: AudioChunk) -> None:
        """What the live page shows of the source: audio so far, when it last came, each seat's level."""
        self.recorded_s = max(self.recorded_s, chunk.start_s + chunk.duration_s)
        self.last_audio_at = time.monotonic()
        self.levels_db = chunk.levels_db()

    def _start_threads(self) -> tuple[threading.Thread, threading.Thread]:
        worker = threading.Thread(target=self._transcribe_loop, name=f"live-{self.session_id}", daemon=True)
        labeller = threading.Thread(target=self._label_loop, name=f"live-label-{self.session_id}", daemon=True)
        self._guard_stop = threading.Event()
        self._guard_thread = threading.Thread(target=self._guard_loop, name=f"live-guard-{self.session_id}",
                                              daemon=True)
        labeller.start()
        worker.start()
        self._guard_thread.start()
        return worker, labeller

    def _join_threads(self, threads: tuple[threading.Thread, threading.Thread]) -> None:
        worker, labeller = threads
        self._written.put(_STOP)
        worker.join()
        self._to_label.put(_STOP)  # after the transcriber's last utterances
        labeller.join()
        self._guard_stop.set()
        self._guard_thread.join()

    # -- the guardrail thread (issue 20) ----------------------------------------------------------------

    def _guard_loop(self) -> None:
        """Judge the session's guardrails every GUARD_POLL_S: a summons nearing its limit is a matter of the clock,
        not of a new line. Alerts once per guardrail and status; the list when a status changes."""
        try:
            watch = GuardrailWatch(self.store, self.session_id, guards_for(self.settings))
        except Exception:
            log.exception("session %s: the guardrails could not be loaded; no live guardrail alerts", self.session_id)
            return
        while True:
            try:
                heard = tuple((label, self._roles.get(label)) for label in list(self._heard_labels))
                new, findings = watch.poll(self._live_checker.statements, heard, now_epoch_s=time.time(),
                                           monotonic_s=time.monotonic())
                for finding in new:
                    self._emit(alert_message(finding))
                if findings is not None:
                    self._emit({"type": "guardrails", "findings": [f.to_dict() for f in findings]})
            except Exception:  # the guardrails must never stop a recording
                log.exception("session %s: the live guardrail check failed", self.session_id)
            if self._guard_stop.wait(GUARD_POLL_S):
                return

    # -- the transcriber thread --------------------------------------------------------------------------

    def _transcribe_loop(self) -> None:
        transcriber = self._transcriber
        resampler = ChunkResampler()
        kept = np.zeros((0, self.channels), dtype=np.float32)
        kept_start_s = 0.0
        last_tentative = None
        finished = False
        while not finished:
            batch = [self._written.get()]
            while True:  # take everything already on disk, then run one recognition pass over it
                try:
                    batch.append(self._written.get_nowait())
                except queue.Empty:
                    break
            if batch[-1] is _STOP:
                finished = True
                batch.pop()
            for chunk in batch:
                converted = resampler.resample(chunk)
                if converted is None:
                    continue
                if kept.shape[0] == 0:
                    kept_start_s = converted.start_s
                kept = np.concatenate([kept, converted.samples])
                transcriber.insert_audio(converted.samples.mean(axis=1, dtype=np.float32), converted.start_s)
            excess = kept.shape[0] - int(_ATTRIBUTION_KEEP_S * 16000)
            if excess > 0:
                kept, kept_start_s = kept[excess:], kept_start_s + excess / 16000
            if finished:
                tail = resampler.flush()
                if tail is not None:
                    kept = np.concatenate([kept, tail.samples])
                    transcriber.insert_audio(tail.samples.mean(axis=1, dtype=np.float32), tail.start_s)
                update = transcriber.finish()
            else:
                update = transcriber.process()
            for utterance in update.committed:
                # Only the utterance's own audio (and a margin) goes to the labeller, copied: a queue of views
                # would each hold a whole minute of audio alive.
                first = max(0, int((utterance.start_s - _LABEL_MARGIN_S - kept_start_s) * 16000))
                last = max(first, int((utterance.end_s + _LABEL_MARGIN_S - kept_start_s) * 16000))
                self._to_label.put((utterance, kept[first:last].copy(), kept_start_s + first / 16000))
            tentative = update.tentative
            if tentative is not None and (tentative.text, tentative.start_s) != last_tentative:
                last_tentative = (tentative.text, tentative.start_s)
                self._emit({"type": "tentative", "text": tentative.text, "start_s": tentative.start_s,
                            "end_s": tentative.end_s})

    # -- the labeller thread ---------------------------------------------------------------------------

    def _label_loop(self) -> None:
        """Who said each committed utterance, then store it, in order. A thread of its own: a voice
        embedding takes 0.1-0.2 s an utterance on 2 cores (over 1 s for the first), and in the transcriber
        thread it held up the next pass, which is when the next person's first words show."""
        self._labeller.warm_up()
        while (item := self._to_label.get()) is not _STOP:
            utterance, audio, audio_start_s = item
            try:
                for piece in self._labeller.label(utterance, audio, audio_start_s):
                    self._commit(piece)
            except Exception:  # the audio is on disk whatever happens here; the next utterances still get stored
                log.exception("session %s: an utterance could not be labelled and stored", self.session_id)

    def _commit(self, utterance: Utterance) -> None:
        if utterance.speaker and utterance.speaker not in self._roles:
            self._new_speaker(utterance)
        if utterance.speaker:
            self._heard_labels[utterance.speaker] = None  # ordered set: the speakers heard, for the guardrails
        utterance_id = self.store.add_utterance(self.session_id, utterance)
        self.store.set_transcribed_until(self.session_id, utterance.end_s)
        role = self._roles.get(utterance.speaker)
        self._emit({"type": "utterance", "utterance": utterance_message(utterance_id, utterance, role)})
        try:  # the checker must never stop a recording
            alerts = self._live_checker.add(Statement(utterance_id, utterance.start_s, utterance.end_s, role,
                                                      utterance.text))
            checklist = [f.to_dict() for f in self._live_checker.findings()]
        except Exception:
            log.exception("session %s: the live procedural check failed on an utterance", self.session_id)
            return
        for alert in alerts:
            self._emit({"type": "alert", "kind": alert.kind, "message": alert.message,
                        "rule_keys": list(alert.rule_keys), "utterance_id": alert.utterance_id,
                        "start_s": alert.start_s})
        statuses = [(f["key"], f["status"]) for f in checklist]
        if statuses != self._checklist_statuses:  # the running checklist, sent when an item changes
            self._checklist_statuses = statuses
            self._emit({"type": "checklist", "findings": checklist})

    def _new_speaker(self, utterance: Utterance) -> None:
        # Seats map by channel; voices by their order of first speaking (diarize.speaker_roles).
        self._first_turns.append(SpeakerTurn(utterance.start_s, utterance.end_s, utterance.speaker, utterance.channel))
        role = speaker_roles(self._first_turns, self.request.seat_roles).get(utterance.speaker)
        self._roles[utterance.speaker] = role
        self.store.set_speaker_roles(self.session_id, {utterance.speaker: role}, {utterance.speaker: utterance.channel})
        self._emit({"type": "speaker", "speaker": utterance.speaker, "role": role, "channel": utterance.channel})

    # -- closing ---------------------------------------------------------------------------------------

    def segment_closed(self, segment: SegmentInfo) -> None:
        """Record a closed segment of the session's folder (the recorder's, or a room agent's copy)."""
        self.store.add_audio_segment(
            self.session_id, seq=segment.index, path=segment.path.relative_to(self.store.home).as_posix(),
            start_s=segment.start_s, duration_s=segment.duration_s, frames=segment.frames,
            sample_rate=segment.sample_rate, channels=segment.channels, sha256=segment.sha256)

    def _close(self, status: str, error: str | None) -> None:
        try:
            try:  # the player's copy is derived from the archive: a full disk must not keep the session open
                write_playback(self.folder)
            except OSError as exc:
                log.error("session %s: the playback copy could not be written (%s); it is written when the "
                          "audio is first asked for", self.session_id, exc.strerror or exc)
            segments = self.store.audio_segments(self.session_id)
            duration_s = max((s["start_s"] + s["duration_s"] for s in segments), default=0.0)
            size = sum((self.store.home / s["path"]).stat().st_size for s in segments)
            self.store.finish_session(self.session_id, status=status, error=error, duration_s=duration_s,
                                      audio_sha256=segments_digest(segments) if segments else "", audio_bytes=size)
            check_session(self.store, self.session_id, self.settings)
            self.status = status
            self._emit({"type": "state", "state": "stopped" if status == "done" else status,
                        "duration_s": duration_s})
        finally:
            if self._lock_file is not None:  # releases the lock: if closing failed, `recover` can finish it
                self._lock_file.close()

    def notify(self, message: dict) -> None:
        """Tell the session's listeners something from outside the recording (a room agent went offline)."""
        self._emit(message)

    def _emit(self, message: dict) -> None:
        try:
            self._on_event({"session_id": self.session_id, "time": time.time(), **message})
        except Exception:  # a listener's failure must never stop the recording
            log.exception("an event listener failed")
