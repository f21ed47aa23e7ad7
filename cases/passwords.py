"""Password hashing with argon2id (argon2-cffi), and the rules a new password must meet."""
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cases.errors import InvalidAccount

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256

# argon2id at OWASP's recommended parameters (19 MiB, 2 passes, 1 lane): about 30-60 ms on this class of
# machine (2 cores, shared with recognition), where argon2-cffi's default (64 MiB, 3 passes, 4 lanes) took
# 0.6-1.2 s per login. Hashes record their parameters, so raising them later rehashes at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the user name is unknown, so that a wrong name costs as long as a wrong password
# (the response time must not tell which names exist).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def check_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidAccount(
            f"a password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long"
        )
    if not password.strip():
        raise InvalidAccount("a password must not be only spaces")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; with `password_hash` None, spend the same time and return False."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's: rehash at the next login."""
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password for a generated account (about 120 bits), easy to type: no 0/O, 1/l."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))
