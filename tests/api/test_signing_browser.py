"""Reading back and signing in a real browser (Chromium via Playwright): the test draws each signature on the
signing page's pad with the mouse (pointer events), the three signers sign, the record is closed 已签名; the stored
strokes and PNG are those drawn, hashed into the audit chain (`bilu verify` intact); the locked record refuses a
plain signature, a correction after it shows as an amendment the person confirms by signing again, and the
exported 笔录 lists the signatures and the amendment."""
import json
import struct
import zlib

import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import Store
from engine.settings import Settings
from tests.api.browser import chromium, log_in, serving
from tests.api.helpers import PASSWORD, stored_session

LINES = [(0.0, 3.0, "S1", "你把当时的情况说一下"), (3.5, 6.0, "S2", "那天我在家里没有出去")]


def draw(page, *, wave: int) -> int:
    """Sign on the pad with the mouse: two strokes; returns the points the page recorded."""
    pad = page.locator("#pad")
    pad.scroll_into_view_if_needed()  # the mouse draws where the pad is on the screen
    box = pad.bounding_box()
    for stroke in range(2):
        x0, y0 = box["x"] + 40 + stroke * 200, box["y"] + box["height"] / 2
        page.mouse.move(x0, y0)
        page.mouse.down()
        for step in range(1, 16):
            page.mouse.move(x0 + step * 10, y0 + ((-1) ** step) * wave, steps=2)
        page.mouse.up()
    return 2


def png_ink(png: bytes) -> int:
    """Dark pixels in our greyscale PNG (IHDR, one IDAT, filter byte 0 per row)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    data = png[8:]
    raw = b""
    while data:
        length = struct.unpack(">I", data[:4])[0]
        kind, body = data[4:8], data[8:8 + length]
        if kind == b"IDAT":
            raw += body
        data = data[12 + length:]
    pixels = zlib.decompress(raw)
    return sum(1 for y in range(height) for x in range(width) if pixels[y * (width + 1) + 1 + x] < 128)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        signed = stored_session(store, "S-20", LINES)
        refused = stored_session(store, "S-21", LINES)
    with serving(settings) as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=url, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page)
        yield settings, page, signed, refused
        context.close()


def sign(page, role: str, name: str, *, wave: int) -> None:
    page.select_option("#signer-role", role)
    page.fill("#signer-name", name)
    draw(page, wave=wave)
    with page.expect_navigation():
        page.click("#submit-signature")


def test_three_signers_draw_their_signatures_and_the_record_is_signed(world):
    settings, page, session_id, _ = world
    page.goto(f"/sessions/{session_id}/page")
    page.click("#sign-link")
    assert "未核对" in page.locator("#review-state").text_content()
    assert "那天我在家里没有出去" in page.locator(".record-turns").text_content()  # the record to read back
    with page.expect_navigation():
        page.click("#start-review")
    assert "记录核对" in page.locator("#review-state").text_content()
    sign(page, "被讯问人", "王某", wave=12)
    sign(page, "讯问人", "张警官", wave=6)
    page.click("#close-signed")  # the 记录人 has not signed yet: refused, said in Chinese
    page.wait_for_function("() => document.getElementById('close-error').textContent.includes('记录人')")
    sign(page, "记录人", "李记录", wave=3)
    with page.expect_navigation():
        page.click("#close-signed")
    assert "已签名" in page.locator("#review-state").text_content()
    assert page.locator(".signature-image").count() == 3
    with Store.open(settings.home) as store:
        review = store.record_review(session_id)
        audit = store.audit_rows(session_id=session_id, with_data_entries=True, limit=100_000)
    assert review["state"] == "signed" and [s["signer_role"] for s in review["signatures"]] == ["被讯问人", "讯问人",
                                                                                               "记录人"]
    first = review["signatures"][0]
    strokes = json.loads((settings.home / first["strokes_path"]).read_text(encoding="utf-8"))
    assert len(strokes["strokes"]) == 2 and all(len(s) >= 10 for s in strokes["strokes"])
    xs = [p["x"] for s in strokes["strokes"] for p in s]
    assert max(xs) - min(xs) > 250  # the two strokes, 200 px apart, each 150 px long, in the pad's pixels
    assert png_ink((settings.home / first["image_path"]).read_bytes()) > 200
    covered = {row["subject"] for row in audit if row["subject"]}
    assert {f"signature:{session_id}:{first['id']}:strokes", f"signature:{session_id}:{first['id']}:image"} <= covered
    assert first["statement"] == "以上笔录我看过，和我说的相符"
    # `bilu verify` re-hashes the signature files (the session's audio is a stand-in never written: its own report).
    verified = json.loads(CliRunner().invoke(cli, ["verify", str(session_id), "--json"],
                                             env={"BILU_HOME": str(settings.home)}).stdout)
    assert [p["subject"] for p in verified["problems"]] == [f"audio:{session_id}"]
    assert verified["audio_files"] == 1 + 6  # the audio, and each signature's strokes and image
    image = settings.home / first["image_path"]
    kept = image.read_bytes()
    image.write_bytes(kept[:-1] + bytes([kept[-1] ^ 1]))
    changed = json.loads(CliRunner().invoke(cli, ["verify", str(session_id), "--json"],
                                            env={"BILU_HOME": str(settings.home)}).stdout)
    image.write_bytes(kept)
    assert (f"signature:{session_id}:{first['id']}:image", "audio_changed") in [
        (p["subject"], p["kind"]) for p in changed["problems"]]


def test_a_locked_record_takes_only_amendments_which_the_person_confirms(world):
    settings, page, session_id, _ = world  # signed by the test above
    page.goto(f"/sessions/{session_id}/sign/page")
    assert "已锁定" in page.locator("#review-state").text_content()
    assert page.locator("#close-signed").count() == 0 and page.locator("#pdf-form").count() == 0
    refused = page.evaluate("""async (id) => {
        const r = await fetch(`/sessions/${id}/signatures`, {method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": Bilu.csrfToken()},
          body: JSON.stringify({signer_role: "被讯问人", signer_name: "王某", width: 40, height: 20,
                                strokes: [[{x: 1, y: 1}]]})});
        return [r.status, (await r.json()).detail];
    }""", session_id)
    assert refused[0] == 409 and "锁定" in refused[1]
    with Store.open(settings.home) as store:  # a correction after signing: kept, and an amendment
        line = store.utterances(session_id)[1]
        store.edit_utterance(session_id, line["id"], {"text": "那天我在家里没有出门"}, version=line["version"],
                             by=store.account("officer"))
    page.goto(f"/sessions/{session_id}/page")
    assert "待被讯问人确认1" in page.locator("#review-summary").text_content().replace(" ", "")
    page.goto(f"/sessions/{session_id}/sign/page")
    assert "待被讯问人确认" in page.locator("#amendments").text_content()
    sign(page, "被讯问人", "王某", wave=8)  # the confirmation beside the correction
    assert "已确认" in page.locator("#amendments").text_content()
    exported = CliRunner().invoke(cli, ["export", str(session_id), "--format", "txt"],
                                  env={"BILU_HOME": str(settings.home)})
    assert exported.exit_code == 0
    text = exported.stdout
    assert "笔录核对：已签名" in text and "被讯问人（签名）：王某" in text and "记录人（签名）：李记录" in text
    assert "签名后补正 1：“那天我在家里没有出去”改为“那天我在家里没有出门”（已由被讯问人签名确认）" in text


def test_a_refusal_records_its_reason_and_witnesses(world):
    settings, page, _, session_id = world
    page.goto(f"/sessions/{session_id}/sign/page")
    with page.expect_navigation():
        page.click("#start-review")
    sign(page, "讯问人", "张警官", wave=6)
    sign(page, "记录人", "李记录", wave=3)
    page.click("#close-refused")  # no reason yet
    page.wait_for_function("() => document.getElementById('close-error').textContent.includes('原因')")
    page.fill("#refusal-reason", "认为记录不全")
    page.fill("#refusal-witnesses", "值班民警赵某、律师钱某")
    with page.expect_navigation():
        page.click("#close-refused")
    assert "拒绝签名" in page.locator("#review-state").text_content()
    assert "赵某" in page.locator("#refusal").text_content()
    with Store.open(settings.home) as store:
        review = store.record_review(session_id)
    assert review["witnesses"] == ["值班民警赵某", "律师钱某"] and review["reason"] == "认为记录不全"
