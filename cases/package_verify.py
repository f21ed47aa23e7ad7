"""`bilu verify --package FILE.zip`: is a sealed package (cases/package.py) as it was made? No database needed.

Checks, each problem named by its kind and the member or entry it is about:
- member_missing / member_changed / member_unlisted: a member the manifest lists is absent, or its bytes no longer
  hash to the manifest's sha256; a file in the archive the manifest does not list;
- chain_broken: an entry of audit.json whose content no longer hashes to its content_sha256, a link whose hash is
  not sha256(prev_hash + content_sha256), links that skip or do not follow each other, a full entry that is not
  the link of the same id, or a last link that is not the manifest's chain head;
- seal_mismatch: the seal entry (session.package) is missing, or the sha256 it carries over the members is not
  the manifest's (a manifest rewritten to match changed members);
- audio_changed / signature_changed: an audio or signature member whose sha256 is not the one the chain recorded
  when the file was stored.
What is not checked here: that the chain head is the service's (`bilu verify --code` on the service does that).
"""
import hashlib
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cases.errors import StoreError
from cases.package import AUDIT, MANIFEST, PACKAGE_FORMAT, SEAL_ACTION, UNSEALED, members_digest
from cases.row_digests import sha256_text

__all__ = ["PACKAGE_PROBLEM_KINDS", "PackageNotReadable", "PackageReport", "verify_package"]

PACKAGE_PROBLEM_KINDS = ("member_missing", "member_changed", "member_unlisted", "chain_broken", "seal_mismatch",
                         "audio_changed", "signature_changed")
_BLOCK = 1 << 20


class PackageNotReadable(StoreError):
    """The file given is not a Bilu package at all (no such file, not a ZIP, no manifest): bad input, exit 2."""

    code = "package_not_readable"


@dataclass(frozen=True, slots=True)
class PackageProblem:
    kind: str  # one of PACKAGE_PROBLEM_KINDS
    subject: str  # a member name, or "audit:12"
    detail: str


@dataclass(slots=True)
class PackageReport:
    session_id: int | None
    case_no: str | None
    chain_head: str | None
    members: int
    entries: int
    problems: list[PackageProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {**asdict(self), "intact": self.intact}


def verify_package(path: Path) -> PackageReport:
    """Check the package at `path`; raises PackageNotReadable when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise PackageNotReadable(f"{path}: no such file", zh=f"{path}：文件不存在")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageNotReadable(f"{path}: not a ZIP archive ({exc})", zh=f"{path}：不是 ZIP 压缩包") from None
    with archive:
        manifest = _manifest(archive, path)
        listed: dict = manifest["members"]
        report = PackageReport(session_id=manifest.get("session_id"), case_no=manifest.get("case_no"),
                               chain_head=manifest.get("chain_head"), members=len(listed), entries=0)
        names = {info.filename for info in archive.infolist() if not info.is_dir()}
        hashes: dict[str, str] = {}
        for name in sorted(listed):
            expected = listed[name].get("sha256") if isinstance(listed[name], dict) else None
            if name not in names:
                report.problems.append(PackageProblem("member_missing", name, "listed in the manifest, not in the "
                                                                              "archive"))
                continue
            actual = _member_sha256(archive, name)
            hashes[name] = actual
            if actual != expected:
                report.problems.append(PackageProblem("member_changed", name, f"its sha256 is {actual[:16]}…, the "
                                                      f"manifest says {str(expected)[:16]}…"))
        for name in sorted(names - set(listed) - {MANIFEST}):
            report.problems.append(PackageProblem("member_unlisted", name, "in the archive but not in the manifest"))
        extract = _audit_extract(archive, names)
        if extract is not None:
            report.entries = len(extract.get("entries", []))
            report.problems += _check_chain(extract, manifest)
            report.problems += _check_seal(extract, manifest)
            report.problems += _check_audio(extract, manifest, hashes)
    return report


def _manifest(archive: zipfile.ZipFile, path: Path) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
    except KeyError:
        raise PackageNotReadable(f"{path}: no {MANIFEST}: not a Bilu export package",
                                 zh=f"{path}：缺少 {MANIFEST}，不是笔录导出包") from None
    except (UnicodeDecodeError, ValueError, zipfile.BadZipFile) as exc:
        raise PackageNotReadable(f"{path}: {MANIFEST} is not readable JSON ({exc})",
                                 zh=f"{path}：{MANIFEST} 无法读取") from None
    if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT \
            or not isinstance(manifest.get("members"), dict):
        raise PackageNotReadable(f"{path}: {MANIFEST} is not a {PACKAGE_FORMAT} manifest",
                                 zh=f"{path}：{MANIFEST} 格式不符")
    return manifest


def _member_sha256(archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    try:
        with archive.open(name) as member:
            while block := member.read(_BLOCK):
                digest.update(block)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a CRC error: the bytes were changed in place
        return f"unreadable ({exc})"
    return digest.hexdigest()


def _audit_extract(archive: zipfile.ZipFile, names: set[str]) -> dict | None:
    if AUDIT not in names:
        return None  # member_missing already says so
    try:
        extract = json.loads(archive.read(AUDIT).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, zipfile.BadZipFile, OSError):
        return {"entries": [], "links": []}  # member_changed says why; the chain checks then name what is gone
    return extract if isinstance(extract, dict) else {"entries": [], "links": []}


def _check_chain(extract: dict, manifest: dict) -> list[PackageProblem]:
    problems = []
    links = [link for link in extract.get("links", []) if isinstance(link, dict)]
    by_id = {}
    previous = None
    for link in links:
        subject = f"audit:{link.get('id')}"
        if sha256_text(f"{link.get('prev_hash') or ''}{link.get('content_sha256')}") != link.get("hash"):
            problems.append(PackageProblem("chain_broken", subject, "its hash is not sha256(prev_hash + "
                                                                    "content_sha256)"))
        if previous is not None:
            if link.get("id") != previous.get("id", 0) + 1:
                problems.append(PackageProblem("chain_broken", subject, f"the links skip from {previous.get('id')}"))
            elif link.get("prev_hash") != previous.get("hash"):
                problems.append(PackageProblem("chain_broken", subject, f"it does not link to entry "
                                                                        f"{previous.get('id')}"))
        by_id[link.get("id")] = link
        previous = link
    if not links:
        problems.append(PackageProblem("chain_broken", AUDIT, "no links of the audit chain"))
    elif links[-1].get("hash") != manifest.get("chain_head"):
        problems.append(PackageProblem("chain_broken", f"audit:{links[-1].get('id')}",
                                       "the last link is not the manifest's chain head"))
    for entry in extract.get("entries", []):
        subject = f"audit:{entry.get('id')}"
        content = entry.get("content")
        if not isinstance(content, str) or sha256_text(content) != entry.get("content_sha256"):
            problems.append(PackageProblem("chain_broken", subject, "its content no longer matches its "
                                                                    "content_sha256"))
        link = by_id.get(entry.get("id"))
        if link is None or link.get("hash") != entry.get("hash") or \
                link.get("content_sha256") != entry.get("content_sha256"):
            problems.append(PackageProblem("chain_broken", subject, "the entry is not the chain's link of that id"))
    return problems


def _check_seal(extract: dict, manifest: dict) -> list[PackageProblem]:
    seal = next((entry for entry in extract.get("entries", []) if entry.get("id") == manifest.get("seal_entry")),
                None)
    content = _content(seal)
    if content.get("action") != SEAL_ACTION:
        return [PackageProblem("seal_mismatch", f"audit:{manifest.get('seal_entry')}",
                               f"the manifest's seal entry is not a {SEAL_ACTION} entry of the package")]
    sealed = {name: member.get("sha256") for name, member in manifest["members"].items()
              if name not in UNSEALED and isinstance(member, dict)}
    if content.get("detail", {}).get("members_sha256") != members_digest(sealed):
        return [PackageProblem("seal_mismatch", MANIFEST, "the members the manifest lists are not those sealed in "
                                                          f"audit entry {seal.get('id')}")]
    if content.get("session_id") != manifest.get("session_id"):
        return [PackageProblem("seal_mismatch", MANIFEST, "the seal is about another session")]
    return []


def _check_audio(extract: dict, manifest: dict, hashes: dict[str, str]) -> list[PackageProblem]:
    latest: dict[str, dict] = {}
    for entry in extract.get("entries", []):
        content = _content(entry)
        if content.get("subject"):
            latest[content["subject"]] = content
    problems = []
    for name, subject in (manifest.get("covered") or {}).items():
        stored = latest.get(subject, {}).get("subject_sha256")
        if name in hashes and hashes[name] != stored:
            kind = "signature_changed" if str(subject).startswith("signature:") else "audio_changed"
            problems.append(PackageProblem(kind, name, f"the chain recorded {str(stored)[:16]}… for "
                                                       f"{subject} when it was stored"))
    return problems


def _content(entry: dict | None) -> dict:
    try:
        content = json.loads(entry["content"]) if entry else {}
    except (TypeError, ValueError, KeyError):
        return {}
    return content if isinstance(content, dict) else {}

