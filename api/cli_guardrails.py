"""`bilu procedure` (what a case records for the guardrails) and `bilu guardrails` (a session's guardrails)."""
import json
import sys

import click

from engine.settings import Settings

STATUS_ZH = {"ok": "符合", "violated": "违反", "warning": "即将超时", "not_applicable": "不适用"}


@click.command()
@click.argument("case_no")
@click.option("--summons-kind", type=click.Choice(["传唤", "拘传"]), default=None, help="传唤 or 拘传.")
@click.option("--summons-at", default=None, help="When the summons began (2026-12-03T09:30, local time).")
@click.option("--extended/--not-extended", "extended", default=None,
              help="The 24-hour limit was approved (CPL 119), or not.")
@click.option("--detained-at", default=None, help="When the person was detained (拘留), local time.")
@click.option("--birth-date", default=None, help="The person questioned's birth date (2009-05-01).")
@click.option("--interpreter", default=None, help="The interpreter's name (翻译人员).")
@click.option("--guardian", default=None, help="The 法定代理人 or 合适成年人 present.")
@click.option("--clear", "cleared", multiple=True,
              type=click.Choice(["summons_kind", "summons_at", "detained_at", "birth_date", "interpreter",
                                 "guardian"]), help="Clear a field (repeatable).")
@click.pass_obj
def procedure(settings: Settings, case_no: str, summons_kind, summons_at, extended, detained_at, birth_date,
              interpreter, guardian, cleared) -> None:
    """Show, or set, what a case records for the guardrails: summons, detention, birth date, interpreter, guardian."""

    from api.cli_users import _os_user

    changes = {name: value for name, value in (
        ("summons_kind", summons_kind), ("summons_at", summons_at), ("summons_extended", extended),
        ("detained_at", detained_at), ("birth_date", birth_date), ("interpreter", interpreter),
        ("guardian", guardian)) if value is not None}
    changes.update({name: None for name in cleared})
    with settings.open_store() as store:
        shown = (store.set_case_procedure(case_no, changes, actor=f"cli:{_os_user()}") if changes
                 else store.case_procedure(case_no))
    for name, value in shown.items():
        click.echo(f"{name}\t{'' if value is None else value}")


@click.command()
@click.argument("session_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@click.pass_obj
def guardrails(settings: Settings, session_id: int, as_json: bool) -> None:
    """Judge a session's guardrails now (exit 0: none violated, 1: some violated, 2: bad input)."""
    from engine.guardrails import check_guardrails

    with settings.open_store() as store:
        findings = check_guardrails(store, session_id, settings)
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        for f in findings:
            click.echo(f"{STATUS_ZH[f.status]}\t{f.key}\t{f.title}\t{f.detail}\t（{f.basis}）")
    sys.exit(1 if any(f.status == "violated" for f in findings) else 0)
