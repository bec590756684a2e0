"""Signed checkpoints that anchor the audit chain outside the database.

A keyed chain shows an edited, rebuilt or removed entry, but not the removal of the newest
entries: what is left is still a chain. So every so often (``serve`` on a schedule, and
``cardcrm audit checkpoint`` on demand) the chain's length and head hash are signed, with the
time, by an Ed25519 key that lives in a file and never in the database. A checkpoint is one
printable line, kept in ``audit_checkpoints`` and in the server log, so operations can keep
copies elsewhere; ``verify_anchored`` checks the chain against every stored checkpoint and
any kept copy, so entries removed after a checkpoint was made show.

A checkpoint is only signed over a chain that extends the previous one (the entries since
then are checked first): signing a cut or rebuilt chain would bless it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth.audit import GENESIS_HASH, VerifyReport, verify
from models.audit.audit import AuditCheckpoint, AuditEntry
from models.columns import utcnow

if TYPE_CHECKING:
    from core.settings import Settings

MAGIC = "cardcrm-audit-checkpoint"
VERSION = "v1"
_FIELDS = ("entries", "head", "at", "key", "sig")
_HEX = frozenset("0123456789abcdef")
# The writer looks for the newest genuine checkpoint among this many candidates.
_CANDIDATES = 20


class CheckpointError(ValueError):
    """A checkpoint line that cannot be read, or a key file that cannot be used."""


class ChainBroken(RuntimeError):
    """The chain does not extend the last checkpoint; nothing is signed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Checkpoint:
    entries: int
    head_hash: str
    at: str  # ISO 8601 with offset, exactly as signed
    key_id: str
    signature: str = ""

    def message(self) -> bytes:
        """The signed bytes: every field but the signature, under a fixed label."""
        return (
            f"{MAGIC}/{VERSION}\nentries={self.entries}\nhead={self.head_hash}\n"
            f"at={self.at}\nkey={self.key_id}"
        ).encode()

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(self.at)

    def line(self) -> str:
        """The printable form: one line, ``key=value`` fields after a label."""
        return (
            f"{MAGIC} {VERSION} entries={self.entries} head={self.head_hash} at={self.at} "
            f"key={self.key_id} sig={self.signature}"
        )

    @classmethod
    def parse(cls, line: str) -> Checkpoint:
        """Reads a line written by ``line()``; anything else is a CheckpointError."""
        words = line.strip().split(" ")
        if len(words) != 2 + len(_FIELDS) or words[:2] != [MAGIC, VERSION]:
            raise CheckpointError(f"not a {MAGIC} {VERSION} line")
        pairs = [word.partition("=") for word in words[2:]]
        if [name for name, _, _ in pairs] != list(_FIELDS):
            raise CheckpointError(f"expected the fields {' '.join(_FIELDS)} in that order")
        values = {name: value for name, _, value in pairs}
        checkpoint = cls(_count(values["entries"]), values["head"], values["at"], values["key"])
        if len(checkpoint.head_hash) != 64 or not set(checkpoint.head_hash) <= _HEX:
            raise CheckpointError("head is not a 64-digit hex hash")
        try:
            moment = checkpoint.time
        except ValueError as exc:
            raise CheckpointError("at is not an ISO 8601 time") from exc
        if moment.tzinfo is None:
            raise CheckpointError("at has no UTC offset")
        return replace(checkpoint, signature=values["sig"])


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise CheckpointError("entries is not a count")
    return int(text)


class CheckpointSigner:
    """Signs and checks checkpoints with this deployment's Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._public = key.public_key()
        raw = self._public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, entries: int, head_hash: str, at: datetime) -> Checkpoint:
        unsigned = Checkpoint(entries, head_hash, at.isoformat(), self.key_id)
        signature = base64.urlsafe_b64encode(self._key.sign(unsigned.message())).decode()
        return Checkpoint(entries, head_hash, unsigned.at, self.key_id, signature.rstrip("="))

    def is_genuine(self, checkpoint: Checkpoint) -> bool:
        if checkpoint.key_id != self.key_id:
            return False
        try:
            signature = base64.urlsafe_b64decode(checkpoint.signature + "==")
            self._public.verify(signature, checkpoint.message())
        except (InvalidSignature, ValueError):
            return False
        return True


def load_or_create_checkpoint_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """The PEM (PKCS#8) Ed25519 key at ``path``; in development generated on first run,
    readable by its owner only (written aside and linked into place: the first worker wins)."""
    if path.exists() or not create:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"cannot read the audit checkpoint key {path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    temporary = Path(name)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return load_or_create_checkpoint_key(path, create=False)
    finally:
        temporary.unlink()
    return key


def checkpoint_signer(settings: Settings) -> CheckpointSigner:
    """The configured key file (required, and never generated, in production), else one
    generated into ``var/keys``."""
    if settings.audit_checkpoint_key_file is not None:
        return CheckpointSigner(
            load_or_create_checkpoint_key(
                settings.audit_checkpoint_key_file, create=settings.is_development
            )
        )
    path = settings.var_dir / "keys" / "audit-checkpoint.pem"
    return CheckpointSigner(load_or_create_checkpoint_key(path, create=True))


async def _newest_genuine(session: AsyncSession, signer: CheckpointSigner) -> Checkpoint | None:
    statements = await session.scalars(
        select(AuditCheckpoint.statement)
        .order_by(col(AuditCheckpoint.entries).desc(), col(AuditCheckpoint.id).desc())
        .limit(_CANDIDATES)
    )
    for statement in statements:
        try:
            checkpoint = Checkpoint.parse(statement)
        except CheckpointError:
            continue
        if signer.is_genuine(checkpoint):
            return checkpoint
    return None


async def write_checkpoint(
    session: AsyncSession, signer: CheckpointSigner, *, only_if_moved: bool = False
) -> Checkpoint | None:
    """Signs and stores the chain's current length and head, after checking that the chain
    still holds the last checkpoint's head and that every entry since then is intact; with
    ``only_if_moved``, nothing is written while the chain has not grown since that one (or is
    still empty)."""
    anchor = await _newest_genuine(session, signer)
    start = (anchor.entries, anchor.head_hash) if anchor else (0, GENESIS_HASH)
    report = await verify(session, after=start)
    problems = list(report.problems)
    if anchor is not None and anchor.entries > 0:
        anchored = await session.get(AuditEntry, anchor.entries)
        if anchored is None or anchored.hash != anchor.head_hash:
            problems.append(
                f"entry {anchor.entries}, the head anchored at {anchor.at}, is gone or changed"
            )
    if problems:
        raise ChainBroken(problems)
    if only_if_moved and report.head_seq == start[0]:
        return None
    checkpoint = signer.sign(report.head_seq, report.head_hash, utcnow())
    session.add(
        AuditCheckpoint(
            entries=checkpoint.entries, created_at=checkpoint.time, statement=checkpoint.line()
        )
    )
    await session.commit()
    return checkpoint


@dataclass
class AnchoredReport:
    chain: VerifyReport
    # The newest genuine checkpoint the chain was checked against, if any.
    anchor: Checkpoint | None

    @property
    def ok(self) -> bool:
        return self.chain.ok


async def _stored(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(AuditCheckpoint.id, AuditCheckpoint.statement).order_by(col(AuditCheckpoint.id))
    )
    return [(f"checkpoint #{row_id}", statement) for row_id, statement in rows.all()]


def _genuine(
    labelled: list[tuple[str, str]], signer: CheckpointSigner, problems: list[str]
) -> list[Checkpoint]:
    genuine = []
    for label, statement in labelled:
        try:
            checkpoint = Checkpoint.parse(statement)
        except CheckpointError as exc:
            problems.append(f"{label}: unreadable ({exc})")
            continue
        if signer.is_genuine(checkpoint):
            genuine.append(checkpoint)
        else:
            problems.append(
                f"{label} ({checkpoint.entries} entries at {checkpoint.at}): the signature does "
                "not verify with this deployment's checkpoint key (forged or altered)"
            )
    return genuine


async def verify_anchored(
    session: AsyncSession, signer: CheckpointSigner, kept: Sequence[tuple[str, str]] = ()
) -> AnchoredReport:
    """Walks the whole chain and holds it against every stored checkpoint and every kept
    copy (label, line): each must be genuine, and the chain must still have the entry it
    anchored, with the same hash."""
    problems: list[str] = []
    checkpoints = _genuine([*await _stored(session), *kept], signer, problems)
    report = await verify(session, keep_hashes_at={c.entries for c in checkpoints})
    for checkpoint in checkpoints:
        if checkpoint.entries > report.head_seq:
            problems.append(
                f"the checkpoint of {checkpoint.at} anchors {checkpoint.entries} entries but "
                f"the chain ends at entry {report.head_seq}: the newest entries were removed"
            )
        elif checkpoint.entries and report.hashes_at.get(checkpoint.entries) != (
            checkpoint.head_hash
        ):
            problems.append(
                f"the checkpoint of {checkpoint.at}: entry {checkpoint.entries} is not the one "
                "it anchored (the chain was rebuilt or cut)"
            )
    report.problems.extend(problems)
    newest = max(checkpoints, key=lambda c: (c.entries, c.time), default=None)
    return AnchoredReport(report, newest)
