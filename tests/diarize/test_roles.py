import pytest

from diarize import (
    ROLES, ChannelDiarizer, DiarizationError, RoleError, SpeakerTurn, VoiceDiarizer,
    choose_diarizer, make_diarizer, parse_seat_roles, speaker_roles,
)


def test_seat_roles_accept_all_three_separators_and_strip_spaces():
    assert parse_seat_roles(" 讯问人, 记录人，被讯问人 、翻译") == ("讯问人", "记录人", "被讯问人", "翻译")


def test_extra_roles_for_minors_are_accepted():
    assert parse_seat_roles("讯问人,被讯问人,法定代理人,合适成年人")[2:] == ("法定代理人", "合适成年人")


@pytest.mark.parametrize(("text", "named"), [("讯问人,律师", "律师"), ("讯问人,,被讯问人", "item 2 is empty"), ("", "item 1 is empty")])
def test_bad_seat_roles_name_the_item_and_list_the_allowed_roles(text, named):
    with pytest.raises(RoleError) as caught:
        parse_seat_roles(text)
    assert named in str(caught.value) and all(role in str(caught.value) for role in ROLES)
    assert isinstance(caught.value, ValueError)


def test_channel_speakers_get_their_seats_role():
    turns = [SpeakerTurn(0, 1, "S2", 1), SpeakerTurn(1, 2, "S1", 0), SpeakerTurn(2, 3, "S3", 2)]
    assert speaker_roles(turns, ("讯问人", "被讯问人")) == {"S2": "被讯问人", "S1": "讯问人", "S3": None}


def test_voice_speakers_get_roles_in_order_of_first_speaking():
    turns = [SpeakerTurn(5, 6, "S2"), SpeakerTurn(0, 1, "S1"), SpeakerTurn(7, 8, "S1"), SpeakerTurn(9, 10, "S3")]
    assert speaker_roles(turns, ("讯问人", "被讯问人")) == {"S1": "讯问人", "S2": "被讯问人", "S3": None}


def test_make_and_choose_diarizer():
    assert isinstance(make_diarizer("channel"), ChannelDiarizer) and make_diarizer("channel").name == "channel"
    assert isinstance(make_diarizer("voice"), VoiceDiarizer) and make_diarizer("voice").name == "voice"
    with pytest.raises(DiarizationError, match="channel, voice, pyannote"):
        make_diarizer("whisperx")
    with pytest.raises(DiarizationError, match="BILU_PYANNOTE_PIPELINE"):
        make_diarizer("pyannote")
    assert [choose_diarizer(n) for n in (1, 2, 4)] == ["voice", "channel", "channel"]
    with pytest.raises(DiarizationError):
        choose_diarizer(0)


def test_public_names():
    import diarize

    assert set(diarize.__all__) == {
        "ChannelDiarizer", "VoiceDiarizer", "assign_speakers", "ROLES", "parse_seat_roles", "speaker_roles",
        "DiarizationError", "DiarizerUnavailable", "RoleError", "make_diarizer", "choose_diarizer", "SpeakerTurn", "Diarizer",
        "PyannoteDiarizer", "PyannoteTuning", "OnlineChannelLabeller", "OnlineVoiceLabeller", "make_online_labeller",
        "exclusive_turns",
    }
    assert all(hasattr(diarize, name) for name in diarize.__all__)
    assert ROLES == ("讯问人", "记录人", "被讯问人", "翻译", "其他")
