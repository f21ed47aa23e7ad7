"""Who the 讯问笔录 names, read from the store: the session's officers (with their display names and units) and
the case's people. Only the store's public methods; the form itself is cases/record_form.py."""
from cases.errors import UserNotFound
from cases.record_form import Officer, RecordParties

__all__ = ["record_parties"]

RECORDER_ACCOUNT_ROLE = "recorder"
"""An officer whose account has this role is the 记录人; the session's other officers are the 讯问人."""


def record_parties(store, session: dict) -> RecordParties:
    """The officers set on the session (`PUT /sessions/{id}/officers`) and the people of its case."""
    officers = []
    for user_name in store.session_officers(session["id"]):
        try:
            account = store.account(user_name)
        except UserNotFound:  # renamed or removed since: print the name the session holds
            officers.append(Officer(name=user_name, unit=None))
            continue
        officers.append(Officer(name=account.display_name or account.name, unit=account.unit_name,
                                recorder=account.role == RECORDER_ACCOUNT_ROLE))
    # Questioners first, then the recorder; the store lists them by user name.
    officers.sort(key=lambda officer: officer.recorder)
    withdrawn = session.get("withdrawn")
    return RecordParties(officers=tuple(officers), people=tuple(store.people(session["case_no"])),
                         withdrawn_by=_display_name(store, withdrawn["by"]) if withdrawn else None)


def _display_name(store, user_name: str) -> str:
    try:
        account = store.account(user_name)
    except UserNotFound:  # the command line's actor (cli:…), or an account removed since
        return user_name
    return account.display_name or account.name
