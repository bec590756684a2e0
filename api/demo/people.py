"""Deterministic, realistic demo customers for ``seed --demo``.

Demos and screenshots must be reproducible, so everything derives from one
seed: our own ``random.Random`` plus a per-instance Faker seed (never Faker's
global seed, which other code may share). Ages are computed against a fixed
reference date so the output does not drift with the calendar. Every
identifier comes from ``models.customers.identifiers`` generators, so it passes the same
validation as real input.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from faker import Faker

from models.customers.identifiers import (
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
)

__all__ = ["REFERENCE_DATE", "DemoPerson", "generate_people"]

REFERENCE_DATE = datetime.date(2026, 1, 1)
_MIN_AGE = 20
_MAX_AGE = 75

# Real district codes, with the administrative prefix used for the address so
# the address agrees with the ID's region (and masks to a familiar district).
_DISTRICTS: tuple[tuple[str, str], ...] = (
    ("110101", "北京市东城区"),
    ("110102", "北京市西城区"),
    ("110105", "北京市朝阳区"),
    ("110108", "北京市海淀区"),
    ("310101", "上海市黄浦区"),
    ("310104", "上海市徐汇区"),
    ("310115", "上海市浦东新区"),
    ("440103", "广东省广州市荔湾区"),
    ("440104", "广东省广州市越秀区"),
    ("440106", "广东省广州市天河区"),
    ("440303", "广东省深圳市罗湖区"),
    ("440304", "广东省深圳市福田区"),
    ("440305", "广东省深圳市南山区"),
)
_UNIONPAY_BINS = ("622848", "622588", "621700", "625906")
# Only RFC 2606 reserved domains: demo mail must never reach a real mailbox.
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
_MAX_ATTEMPTS = 1000


@dataclass(frozen=True)
class DemoPerson:
    """One demo customer; every identifier is valid and mutually consistent."""

    name: str
    gender: str
    birth_date: datetime.date
    national_id: str
    phone: str
    email: str
    address: str
    pans: list[str]


@dataclass
class _Generator:
    """Holds the seeded sources and the sets that keep identifiers unique."""

    rng: random.Random
    fake: Faker
    seen: set[str] = field(default_factory=set)

    def unique(self, make: Callable[[], str]) -> str:
        """Draw until unused; phones, IDs, PANs and emails share one namespace safely."""
        for _ in range(_MAX_ATTEMPTS):
            value = make()
            if value not in self.seen:
                self.seen.add(value)
                return value
        raise RuntimeError("could not generate a unique demo identifier")


def generate_people(count: int, seed: int) -> list[DemoPerson]:
    """``count`` demo people; the same ``(count, seed)`` always yields the same list."""
    if count < 0:
        raise ValueError("count must not be negative")
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    generator = _Generator(rng=random.Random(seed), fake=fake)  # noqa: S311 - demo data
    return [_person(generator) for _ in range(count)]


def _person(gen: _Generator) -> DemoPerson:
    male = gen.rng.random() < 0.5
    birth_date = _birth_date(gen.rng)
    region, district = gen.rng.choice(_DISTRICTS)
    return DemoPerson(
        name=_chinese_name(gen.fake, male),
        gender="male" if male else "female",
        birth_date=birth_date,
        national_id=gen.unique(lambda: generate_national_id(gen.rng, birth_date, region, male)),
        phone=gen.unique(lambda: generate_mobile(gen.rng)),
        email=gen.unique(lambda: _email(gen, birth_date)),
        address=district + _street(gen),
        pans=[gen.unique(lambda: _pan(gen.rng)) for _ in range(gen.rng.randint(1, 3))],
    )


def _birth_date(rng: random.Random) -> datetime.date:
    """Uniform over dates giving an age of 20..75 on the reference date."""
    latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - _MIN_AGE)
    earliest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - _MAX_AGE - 1)
    earliest += datetime.timedelta(days=1)
    return earliest + datetime.timedelta(days=rng.randint(0, (latest - earliest).days))


def _chinese_name(fake: Faker, male: bool) -> str:
    """Surname + given name matching the sex, kept to the common 2-3 characters."""
    for _ in range(_MAX_ATTEMPTS):
        given = fake.first_name_male() if male else fake.first_name_female()
        name = fake.last_name() + given
        if 2 <= len(name) <= 3:
            return name
    raise RuntimeError("could not generate a 2-3 character name")


def _email(gen: _Generator, birth_date: datetime.date) -> str:
    """Pinyin-style local part as Chinese users commonly pick, e.g. wangfang90."""
    local = f"{gen.fake.last_romanized_name()}{gen.fake.first_romanized_name()}".lower()
    suffix = f"{birth_date.year % 100:02d}" if gen.rng.random() < 0.6 else ""
    if gen.rng.random() < 0.3:
        suffix += str(gen.rng.randint(1, 999))
    return f"{local}{suffix}@{gen.rng.choice(_EMAIL_DOMAINS)}"


def _street(gen: _Generator) -> str:
    """Faker street and building, plus a room number (no postcode)."""
    room = f"{gen.rng.randint(1, 28)}{gen.rng.randint(1, 8):02d}室"
    return gen.fake.street_address().upper() + room


def _pan(rng: random.Random) -> str:
    return generate_unionpay_pan(rng, rng.choice(_UNIONPAY_BINS))
