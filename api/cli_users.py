"""`bilu users ...` and `bilu units ...`: accounts and units from the command line (the operator's shell).

Passwords are read from a prompt (hidden) or, with --password-stdin, from the first line of standard
input; they never appear in the command line, where `ps` and the shell history would show them.
"""
import sys

import click

from engine.settings import Settings

DEMO_ADMIN = "admin"
ROLE_CHOICES = click.Choice(["officer", "recorder", "supervisor", "prosecutor", "admin"])


def _store(settings: Settings):
    return settings.open_store()


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask for the password: pass it with --password-stdin")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@click.group()
def users() -> None:
    """User accounts: officers, recorders, supervisors, prosecutors, administrators."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICES, required=True, help="What the user may do (see README).")
@click.option("--unit", required=True, help="The unit the user belongs to (bilu units list).")
@click.option("--display-name", default=None, help="Name shown on pages (default: NAME).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input's first line.")
@click.pass_obj
def add_user(settings: Settings, name: str, role: str, unit: str, display_name: str | None, password_stdin: bool):
    """Add a user (the password is asked for, hidden, twice)."""
    password = _read_password(password_stdin)
    with _store(settings) as store:
        account = store.add_user(name, role=role, unit=unit, password=password, display_name=display_name,
                                 actor=_cli_actor())
    click.echo(f"added {account.name} ({account.role}, {account.unit_name})")


@users.command("list")
@click.pass_obj
def list_users(settings: Settings) -> None:
    """List the users: name, role, unit, whether they may log in."""
    with _store(settings) as store:
        rows = store.list_users()
    for row in rows:
        state = "" if row["active"] else "  (disabled)"
        click.echo(f"{row['name']}  {row['role']}  {row['unit']}  {row['display_name']}{state}")
    if not rows:
        click.echo("no users yet: bilu users add NAME --role admin --unit 默认单位")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input's first line.")
@click.pass_obj
def passwd(settings: Settings, name: str, password_stdin: bool) -> None:
    """Set a user's password (their logins and tokens end)."""
    password = _read_password(password_stdin)
    with _store(settings) as store:
        store.set_password(name, password, actor=_cli_actor())
    click.echo(f"password of {name} set; their logins and tokens were ended")


@users.command("unlock")
@click.argument("name")
@click.pass_obj
def unlock_user(settings: Settings, name: str) -> None:
    """Let a user held after failed logins log in again at once (from every address)."""
    with _store(settings) as store:
        cleared = store.unlock_user(name, actor=f"cli:{_os_user()}")
    click.echo(f"{name} may log in again" if cleared else f"{name} was not held; nothing to unlock")


@users.command("set")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICES, default=None)
@click.option("--unit", default=None)
@click.option("--display-name", default=None)
@click.option("--disable/--enable", "disabled", default=None, help="Stop (or allow again) the user's logins.")
@click.pass_obj
def set_user(settings: Settings, name: str, role, unit, display_name, disabled) -> None:
    """Change a user's role, unit, display name, or disable them."""
    with _store(settings) as store:
        account = store.update_user(name, role=role, unit=unit, display_name=display_name,
                                    active=None if disabled is None else not disabled, actor=_cli_actor())
    click.echo(f"{account.name}: {account.role}, {account.unit_name}")


@users.command("ensure-demo-admin")
@click.pass_obj
def ensure_demo_admin(settings: Settings) -> None:
    """Create the demo administrator `admin` once, with a generated password, and say how to log in.

    Does nothing (but say so) when an active administrator exists already. The password is printed once,
    to the terminal of whoever runs `make run`, and is not kept anywhere but as its hash.
    """
    from cases import generate_password

    with _store(settings) as store:
        if store.has_admin():
            click.echo(f"an administrator exists already; log in at http://{settings.host}:{settings.port}/login "
                       "(bilu users passwd NAME sets a new password)", err=True)
            return
        password = generate_password()
        store.add_user(DEMO_ADMIN, role="admin", unit=store.list_units()[0]["name"], password=password,
                       display_name="演示管理员", actor=_cli_actor())
    click.echo(f"demo administrator created: log in at http://{settings.host}:{settings.port}/login as "
               f"{DEMO_ADMIN!r} with password {password}  (shown once; bilu users passwd {DEMO_ADMIN} changes it)",
               err=True)


@click.group()
def units() -> None:
    """Units: city bureau (city), case-handling centre (centre), grassroots unit (unit)."""


@units.command("add")
@click.argument("name")
@click.option("--level", type=click.Choice(["city", "centre", "unit"]), required=True,
              help="city (市局), centre (办案中心) or unit (基层单位).")
@click.option("--parent", default=None, help="A centre's city bureau; a unit's centre. None for a city.")
@click.pass_obj
def add_unit(settings: Settings, name: str, level: str, parent: str | None) -> None:
    """Add a unit."""
    with _store(settings) as store:
        unit = store.add_unit(name, level=level, parent=parent, actor=_cli_actor())
    click.echo(f"added {unit['name']} ({unit['level']}{', under ' + unit['parent'] if unit['parent'] else ''})")


@units.command("list")
@click.pass_obj
def list_units(settings: Settings) -> None:
    """List the units, each with its level and parent."""
    with _store(settings) as store:
        for unit in store.list_units():
            click.echo(f"{unit['name']}  {unit['level']}  {unit['parent'] or '-'}")


@units.command("assign-case")
@click.argument("case_no")
@click.argument("unit")
@click.pass_obj
def assign_case(settings: Settings, case_no: str, unit: str) -> None:
    """Put a case in a unit (cases made by `bilu transcribe` start in the default unit)."""
    with _store(settings) as store:
        store.set_case_unit(case_no, unit, actor=_cli_actor())
    click.echo(f"case {case_no} now belongs to {unit}")


@units.command("assign-prosecutor")
@click.argument("case_no")
@click.argument("user_name")
@click.pass_obj
def assign_prosecutor(settings: Settings, case_no: str, user_name: str) -> None:
    """Let a prosecutor read a case (read-only)."""
    with _store(settings) as store:
        store.assign_case(case_no, user_name, actor=_cli_actor())
    click.echo(f"{user_name} may now read case {case_no}")


def _cli_actor() -> str:
    """Who acts, in the audit entries the store writes for a change made on the command line."""
    return f"cli:{_os_user()}"


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
