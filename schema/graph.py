"""The types assembled from several domains' parts: Customer.

Each domain declares the fields it adds to the customer in its own
``schema/<domain>/customer_fields.py``, so ``schema/customers/`` imports none of those domains.
Customer inherits every part here; the order of the parts is the order of the fields in the
schema. Nothing in a domain imports this module: a field that returns a customer builds a
``CustomerFields`` and declares the type as ``schema.customers.customer.CustomerRef``, a lazy
reference resolved when ``schema`` builds the strawberry Schema.
"""

from __future__ import annotations

import strawberry

from schema.cards.customer_fields import CustomerCardFields
from schema.customers import texts
from schema.customers.customer import CustomerDisclosureFields, CustomerFields
from schema.growth.customer_fields import CustomerOfferFields, CustomerTierFields
from schema.loyalty.customer_fields import CustomerLoyaltyFields
from schema.outreach.survey_customer_fields import CustomerSurveyFields
from schema.privacy.consent_customer_fields import CustomerConsentFields
from schema.privacy.erasure_customer_fields import CustomerErasureFields
from schema.risk.alert_customer_fields import CustomerRiskAlertFields
from schema.risk.grade import CustomerRiskGradeFields
from schema.service_desk.customer_fields import CustomerServiceFields
from schema.transactions.customer_fields import CustomerTransactionFields


@strawberry.type(name="Customer", description=texts.CUSTOMER)
class Customer(
    CustomerFields,
    CustomerTierFields,
    CustomerCardFields,
    CustomerRiskGradeFields,
    CustomerTransactionFields,
    CustomerServiceFields,
    CustomerOfferFields,
    CustomerRiskAlertFields,
    CustomerLoyaltyFields,
    CustomerSurveyFields,
    CustomerConsentFields,
    CustomerDisclosureFields,
    CustomerErasureFields,
):
    """Never instantiated: resolvers return ``CustomerFields``, which this type accepts (its
    ``is_type_of``), and each contributed field gets that instance as ``self``."""
