"""A checkpoint line on its own: it reads back what was signed, anything else is refused with
a reason, and a signature holds only for its own fields and its own key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth.audit_checkpoint import Checkpoint, CheckpointError, CheckpointSigner

HEAD = "ab" * 32
AT = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


@pytest.fixture
def signer() -> CheckpointSigner:
    return CheckpointSigner(Ed25519PrivateKey.generate())


def test_a_signed_checkpoint_reads_back_from_its_line(signer: CheckpointSigner) -> None:
    checkpoint = signer.sign(42, HEAD, AT)

    read = Checkpoint.parse(checkpoint.line())

    assert read == checkpoint
    assert (read.entries, read.head_hash, read.time) == (42, HEAD, AT)
    assert signer.is_genuine(read)


@pytest.mark.parametrize(
    "change",
    [
        {"entries": 41},
        {"head_hash": "cd" * 32},
        {"at": "2026-12-06T06:00:00+00:00"},
    ],
)
def test_a_changed_field_breaks_the_signature(
    signer: CheckpointSigner, change: dict[str, object]
) -> None:
    altered = replace(signer.sign(42, HEAD, AT), **change)  # type: ignore[arg-type]

    assert not signer.is_genuine(Checkpoint.parse(altered.line()))


def test_another_key_signing_under_this_key_id_is_not_genuine(signer: CheckpointSigner) -> None:
    forger = CheckpointSigner(Ed25519PrivateKey.generate())
    forger.key_id = signer.key_id

    assert not signer.is_genuine(forger.sign(42, HEAD, AT))


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "not a cardcrm-audit-checkpoint v1 line"),
        (f"cardcrm-audit-checkpoint v2 entries=1 head={HEAD} at=x key=k sig=s", "v1"),
        (f"cardcrm-audit-checkpoint v1 head={HEAD} entries=1 at=x key=k sig=s", "in that order"),
        (f"cardcrm-audit-checkpoint v1 entries=-1 head={HEAD} at=x key=k sig=s", "not a count"),
        (f"cardcrm-audit-checkpoint v1 entries=١ head={HEAD} at=x key=k sig=s", "not a count"),
        ("cardcrm-audit-checkpoint v1 entries=1 head=XYZ at=x key=k sig=s", "64-digit hex"),
        (f"cardcrm-audit-checkpoint v1 entries=1 head={HEAD} at=x key=k sig=s", "ISO 8601"),
        (
            f"cardcrm-audit-checkpoint v1 entries=1 head={HEAD} at=2026-12-06T05:00:00 key=k sig=s",
            "no UTC offset",
        ),
    ],
)
def test_anything_but_a_checkpoint_line_is_refused_with_a_reason(line: str, says: str) -> None:
    with pytest.raises(CheckpointError, match=says):
        Checkpoint.parse(line)


def test_a_mebibyte_of_junk_is_refused_at_once() -> None:
    junk = "cardcrm-audit-checkpoint v1 entries=" + "9" * (1 << 20)

    with pytest.raises(CheckpointError):
        Checkpoint.parse(junk + f" head={HEAD} at=x key=k sig=s")
