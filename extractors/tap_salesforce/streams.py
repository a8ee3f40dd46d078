"""The Salesforce objects cx360 replicates: one stream per sObject.

All share key `Id` and replication key `SystemModstamp` (bumped by every change, including
system-made ones that `LastModifiedDate` misses), read in SystemModstamp order.
"""

from __future__ import annotations

from .client import SalesforceStream


class AccountsStream(SalesforceStream):
    """Customer companies (with custom fields for plan, segment, spend, renewal)."""

    name = "accounts"
    sobject = "Account"


class ContactsStream(SalesforceStream):
    """People at customers; merged duplicates arrive deleted with `MasterRecordId` set."""

    name = "contacts"
    sobject = "Contact"


class OpportunitiesStream(SalesforceStream):
    """New business, renewals and expansions, with contract dates and MRR."""

    name = "opportunities"
    sobject = "Opportunity"


class UsersStream(SalesforceStream):
    """Salesforce users (account owners, CSMs).

    User has no `IsDeleted` (users are deactivated, not deleted), so it is read with
    `/query`. It ignores `start_date` on the first sync: it is a small reference table
    whose long-unchanged rows (an owner hired years ago) are still needed for joins.
    """

    name = "users"
    sobject = "User"
    soft_deletable = False
    applies_start_date = False


class OpportunityContactRolesStream(SalesforceStream):
    """Which contacts played which role (champion, decision maker…) on an opportunity."""

    name = "opportunity_contact_roles"
    sobject = "OpportunityContactRole"


STREAM_TYPES: list[type[SalesforceStream]] = [
    AccountsStream,
    ContactsStream,
    OpportunitiesStream,
    UsersStream,
    OpportunityContactRolesStream,
]
