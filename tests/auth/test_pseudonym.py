"""A merchant's pseudonym of a customer: stable, different per merchant, and not the id."""

from __future__ import annotations

import os
import re
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from auth.pseudonym import customer_pseudonym
from core.encryption import KEY_BYTES, KeyRing

RING = KeyRing({1: os.urandom(KEY_BYTES)}, os.urandom(KEY_BYTES))
OTHER_RING = KeyRing({1: os.urandom(KEY_BYTES)}, os.urandom(KEY_BYTES))
SHAPE = re.compile(r"cust_[a-z2-7]{16}")
MODEST = settings(max_examples=200, deadline=None)


@MODEST
@given(merchant=st.uuids(), customer=st.uuids())
def test_a_pseudonym_is_the_same_every_time_and_has_its_short_shape(
    merchant: uuid.UUID, customer: uuid.UUID
) -> None:
    first = customer_pseudonym(RING, merchant_id=merchant, customer_id=customer)
    again = customer_pseudonym(RING, merchant_id=merchant, customer_id=customer)
    assert first == again
    assert SHAPE.fullmatch(first), first


@MODEST
@given(merchants=st.lists(st.uuids(), min_size=2, max_size=2, unique=True), customer=st.uuids())
def test_two_merchants_see_the_same_customer_under_different_pseudonyms(
    merchants: list[uuid.UUID], customer: uuid.UUID
) -> None:
    one, other = (customer_pseudonym(RING, merchant_id=m, customer_id=customer) for m in merchants)
    assert one != other


@MODEST
@given(merchant=st.uuids(), customers=st.lists(st.uuids(), min_size=2, max_size=2, unique=True))
def test_one_merchant_sees_two_customers_under_different_pseudonyms(
    merchant: uuid.UUID, customers: list[uuid.UUID]
) -> None:
    one, other = (customer_pseudonym(RING, merchant_id=merchant, customer_id=c) for c in customers)
    assert one != other


@MODEST
@given(merchant=st.uuids(), customer=st.uuids())
def test_a_pseudonym_contains_no_part_of_the_customer_id(
    merchant: uuid.UUID, customer: uuid.UUID
) -> None:
    pseudonym = customer_pseudonym(RING, merchant_id=merchant, customer_id=customer)
    for text in (str(customer), customer.hex):
        # no 8-character run of the id (a UUID's first group) survives into the pseudonym
        runs = {text[i : i + 8] for i in range(len(text) - 7)}
        assert not any(run in pseudonym for run in runs)


@MODEST
@given(merchant=st.uuids(), customer=st.uuids())
def test_without_the_key_the_pseudonym_cannot_be_recomputed(
    merchant: uuid.UUID, customer: uuid.UUID
) -> None:
    # Another deployment (another blind-index key) derives an unrelated pseudonym, so knowing
    # the merchant and customer ids is not enough to link a pseudonym to a person.
    assert customer_pseudonym(RING, merchant_id=merchant, customer_id=customer) != (
        customer_pseudonym(OTHER_RING, merchant_id=merchant, customer_id=customer)
    )
