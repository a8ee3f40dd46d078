"""Keyed hashes of every plain e-mail address the warehouse holds, to join hashed sources.

tap-amplitude replaces ``user_properties.email`` by HMAC-SHA256 keyed with the secret
``CX360_PII_SALT`` (cx360_singer.pii.hash_pii: strip + casefold, then HMAC) so that raw
addresses never leave the tap. This model computes the same hash for the plain addresses
of Salesforce contacts, Zendesk users and survey respondents — with the same function and
the salt read from the environment at run time (never compiled into SQL or logged) — so a
hashed product user can still be matched to a contact or a support user. Without the salt
the table is empty and product users are resolved through their workspace only.
"""

import os


def model(dbt, session):
    dbt.config(materialized="table")
    # dbt.ref() takes literals only (dbt parses them statically).
    sources = [
        (dbt.ref("stg_salesforce__contacts"), "email"),
        (dbt.ref("stg_zendesk__users"), "email"),
        (dbt.ref("stg_delighted__people"), "email"),
        (dbt.ref("stg_delighted__survey_responses"), "person_email"),
        (dbt.ref("stg_qualtrics__survey_responses"), "recipient_email"),
    ]
    empty = "select cast(null as varchar) as email_hmac, cast(null as varchar) as email where false"
    salt = os.environ.get("CX360_PII_SALT")
    if not salt:
        return session.sql(empty)

    from cx360_singer.pii import hash_pii

    emails = set()
    for relation, column in sources:
        rows = relation.filter(f"{column} is not null").project(column).distinct().fetchall()
        emails.update(row[0] for row in rows)
    if not emails:
        return session.sql(empty)

    import pandas as pd

    ordered = sorted(emails)
    return pd.DataFrame(
        {"email_hmac": [hash_pii(email, salt) for email in ordered], "email": ordered}
    )
