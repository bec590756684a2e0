"""Deterministic demo people for ``seed --demo``."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

import faker.generator
import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

from api.demo.people import REFERENCE_DATE, DemoPerson, generate_people
from models.customers.identifiers import (
    national_id_birth_date,
    national_id_is_male,
    normalize_email,
    normalize_mobile,
    normalize_national_id,
    normalize_pan,
)

REGIONS = {
    "110101", "110102", "110105", "110108", "310101", "310104", "310115",
    "440103", "440104", "440106", "440303", "440304", "440305",
}  # fmt: skip
BINS = {"622848", "622588", "621700", "625906"}
RESERVED_DOMAINS = {"example.com", "example.net", "example.org"}
CITY_PREFIXES = ("北京市", "上海市", "广东省广州市", "广东省深圳市")
CJK_NAME = re.compile(r"[\u4e00-\u9fff]{2,3}")
PINYINISH_LOCAL = re.compile(r"[a-z]+[0-9]*")


def _age_on(born: datetime.date, day: datetime.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _assert_valid(person: DemoPerson) -> None:
    assert CJK_NAME.fullmatch(person.name)
    assert normalize_national_id(person.national_id, today=REFERENCE_DATE) == person.national_id
    assert person.national_id[:6] in REGIONS
    assert national_id_birth_date(person.national_id) == person.birth_date
    assert person.gender == ("male" if national_id_is_male(person.national_id) else "female")
    assert 20 <= _age_on(person.birth_date, REFERENCE_DATE) <= 75
    assert normalize_mobile(person.phone) == person.phone
    assert normalize_email(person.email) == person.email
    local, _, domain = person.email.partition("@")
    assert PINYINISH_LOCAL.fullmatch(local)
    assert domain in RESERVED_DOMAINS
    assert person.address.startswith(CITY_PREFIXES)
    assert not re.search(r"[0-9]{6}", person.address), "no postcode"
    assert 1 <= len(person.pans) <= 3
    for pan in person.pans:
        assert normalize_pan(pan) == pan
        assert len(pan) == 16
        assert pan[:6] in BINS


def test_given_the_same_count_and_seed_when_generating_then_the_list_is_identical() -> None:
    assert generate_people(25, seed=7) == generate_people(25, seed=7)


def test_given_different_seeds_when_generating_then_the_lists_differ() -> None:
    assert generate_people(10, seed=1) != generate_people(10, seed=2)


@pytest.fixture
def restore_faker_global_random() -> Iterator[None]:
    """Reseeding Faker globally must not leak into other tests."""
    state = faker.generator.random.getstate()
    yield
    faker.generator.random.setstate(state)


@pytest.mark.usefixtures("restore_faker_global_random")
def test_given_fakers_global_seed_changes_when_generating_then_the_output_does_not() -> None:
    Faker.seed(1)
    first = generate_people(5, seed=3)
    Faker.seed(2)
    second = generate_people(5, seed=3)

    assert first == second


def test_given_a_large_population_when_generating_then_every_person_is_valid() -> None:
    for person in generate_people(300, seed=2026):
        _assert_valid(person)


def test_given_a_large_population_when_generating_then_identifiers_are_unique() -> None:
    people = generate_people(500, seed=11)
    all_pans = [pan for person in people for pan in person.pans]

    assert len({person.phone for person in people}) == len(people)
    assert len({person.national_id for person in people}) == len(people)
    assert len(set(all_pans)) == len(all_pans)


def test_given_a_large_population_when_generating_then_both_genders_and_many_ages_appear() -> None:
    people = generate_people(200, seed=5)

    assert {person.gender for person in people} == {"male", "female"}
    assert len({person.birth_date.year for person in people}) > 30


def test_given_a_count_of_zero_when_generating_then_the_list_is_empty() -> None:
    assert generate_people(0, seed=1) == []


def test_given_a_negative_count_when_generating_then_it_is_rejected() -> None:
    with pytest.raises(ValueError, match="count"):
        generate_people(-1, seed=1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), count=st.integers(1, 4))
def test_given_any_seed_when_generating_then_people_are_valid_and_reproducible(
    seed: int, count: int
) -> None:
    people = generate_people(count, seed)

    assert len(people) == count
    assert people == generate_people(count, seed)
    for person in people:
        _assert_valid(person)
