"""The synthetic B2B SaaS company behind the sandbox, and its ground truth.

One latent quantity drives every source: each customer's *health* over time. Health falls
for accounts with support friction and for those that hit a decline; low health means fewer
active product users, more and slower tickets, lower survey scores and a higher chance of
churning at renewal. So the sources agree causally and analysis over them finds real signal.

The dirt that real CX data has is generated on purpose and recorded in the `gt_*` tables:
name variants across systems, Zendesk organizations without the Salesforce id, free-mail
addresses, duplicated and merged records, deletions, late-arriving events, local-time offsets
and nulls in fields nobody maintains.

Determinism: every random stream is seeded from (seed, purpose, entity), never from the
order in which other entities were generated, and no set or hash order is iterated.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from . import names
from .ids import qualtrics_id, salesforce_id, zendesk_id
from .scale import Scale
from .tables import TableBuffer
from .timeline import ANCHOR, DAY, HISTORY_START, HORIZON, HOUR, MINUTE

VENDOR_DOMAIN = "lumenapp.io"
"""Our own (the SaaS vendor's) domain: agents, owners. Never a customer's domain."""

SEGMENTS = [("SMB", 0.6, (5, 30)), ("Mid-Market", 0.3, (30, 300)), ("Enterprise", 0.1, (300, 3000))]
SEGMENT_CONTACT_FACTOR = {"SMB": 0.5, "Mid-Market": 1.2, "Enterprise": 3.0}
REGIONS = [("NA", 0.45), ("EMEA", 0.3), ("APAC", 0.15), ("LATAM", 0.1)]
PLAN_PRICE = {"Starter": 15.0, "Growth": 30.0, "Enterprise": 60.0}
ZENDESK_GROUPS = ["Tier 1 Support", "Tier 2 Support", "Billing", "Escalations"]
EVENT_TYPES = [
    "session_start", "dashboard_viewed", "report_created", "report_exported",
    "query_run", "alert_configured", "user_invited", "integration_connected",
]  # fmt: skip
EVENT_TYPE_WEIGHTS = [0.3, 0.3, 0.1, 0.05, 0.17, 0.04, 0.02, 0.02]
FEATURES = ["Dashboards", "Reports", "Alerts", "Integrations", "Query Builder"]

# (key, name, survey type, touchpoint, scale min, scale max)
QUALTRICS_SURVEYS = [
    ("rel_nps", "Relationship NPS (quarterly)", "NPS", "relationship", 0, 10),
    ("support_csat", "Support Case CSAT", "CSAT", "support_case_closed", 1, 5),
    ("support_ces", "Support Effort Score", "CES", "support_case_closed", 1, 7),
    ("onboarding_ces", "Onboarding Effort Score", "CES", "onboarding", 1, 7),
    ("onboarding_txs", "Onboarding Call Experience", "TXS", "onboarding", 1, 5),
    ("sales_txs", "Sales Meeting Experience", "TXS", "sales", 1, 5),
]


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def _pick(rng: random.Random, weighted: list[tuple]) -> tuple:
    roll = rng.random()
    for item in weighted:
        roll -= item[1]
        if roll <= 0:
            return item
    return weighted[-1]


@dataclass
class Person:
    person_id: int
    first: str
    last: str
    email: str
    role: str
    is_free_mail: bool
    timezone: str
    zendesk_user_id: int | None = None
    product_user_index: int | None = None
    contact_id: str | None = None
    is_product_only: bool = False
    contact_created_at: int | None = None
    zendesk_joined_at: int | None = None


@dataclass
class Company:
    company_id: int
    account_id: str
    stem: str
    legal: str
    name: str
    domain: str
    segment: str
    region: str
    country: str
    industry: str | None
    timezone: str
    seats: int
    plan: str
    owner_id: str
    created_at: int
    friction: float
    base_health: float
    decline_start: int | None
    decline_amount: float
    parent_company_id: int | None = None
    trial_at: int | None = None
    paid_periods: list[list[int]] = field(default_factory=list)
    mrr_by_term: list[tuple[int, int, float]] = field(default_factory=list)
    workspace_id: str | None = None
    workspace_at: int | None = None
    org_id: int | None = None
    people: list[Person] = field(default_factory=list)

    def health(self, when: int) -> float:
        if self.decline_start is None or when <= self.decline_start:
            return self.base_health
        progress = min(1.0, (when - self.decline_start) / (90 * DAY))
        return self.base_health - self.decline_amount * progress

    def paying_at(self, when: int) -> bool:
        return any(start <= when < end for start, end in self.paid_periods)

    def workspace_live_at(self, when: int) -> bool:
        """Free, trial and paying workspaces are live; a churned customer's is closed."""
        if self.workspace_at is None or when < self.workspace_at:
            return False
        if not self.paid_periods or when < self.paid_periods[0][0]:
            return True
        return self.paying_at(when)

    def mrr_at(self, when: int) -> float:
        return sum(mrr for start, end, mrr in self.mrr_by_term if start <= when < end)


class WorldGenerator:
    """Builds every source table and the ground truth into one DuckDB connection."""

    def __init__(self, scale: Scale, seed: int, con: duckdb.DuckDBPyConnection) -> None:
        self.scale = scale
        self.seed = seed
        self.con = con
        self.companies: list[Company] = []
        self.owner_ids: list[str] = []
        self.agent_ids_by_group: dict[int, list[int]] = {}
        self.group_ids: dict[str, int] = {}
        self.free_individuals: list[Person] = []
        self._person_seq = 0
        self._product_user_seq = 0
        self._zendesk_user_seq = 0
        self._counters: dict[str, int] = {}
        self._tables: dict[str, TableBuffer] = {}
        self._delighted_people: dict[int, str] = {}
        self._delighted_people_created: dict[int, int] = {}

    # -- helpers -----------------------------------------------------------------------
    def rng(self, *purpose: object) -> random.Random:
        return random.Random(":".join(str(p) for p in (self.seed, *purpose)))

    def next_id(self, kind: str) -> int:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return self._counters[kind]

    def table(self, name: str, columns: dict[str, str]) -> TableBuffer:
        self._tables[name] = TableBuffer(self.con, name, columns)
        return self._tables[name]

    # -- top level ---------------------------------------------------------------------
    def generate(self) -> None:
        self._define_tables()
        self._generate_salesforce_users()
        self._generate_companies()
        self._generate_zendesk_agents_and_groups()
        for company in self.companies:
            self._generate_company(company)
        self._generate_free_individuals()
        self._generate_qualtrics_catalogue()
        for buffer in self._tables.values():
            buffer.flush()
        self._generate_product_events()
        self._write_ground_truth()

    # -- schemas -----------------------------------------------------------------------
    def _define_tables(self) -> None:
        sf_system = {
            "IsDeleted": "bool", "CreatedDate": "ts", "LastModifiedDate": "ts",
            "SystemModstamp": "ts", "_valid_from": "ts",
        }  # fmt: skip
        self.t_sf_users = self.table("sf_users", {
            "Id": "str", "Username": "str", "FirstName": "str", "LastName": "str",
            "Name": "str", "Email": "str", "Title": "str", "Department": "str",
            "IsActive": "bool", "UserType": "str", "TimeZoneSidKey": "str",
            "CreatedDate": "ts", "LastModifiedDate": "ts", "SystemModstamp": "ts",
            "LastLoginDate": "ts", "_valid_from": "ts",
        })  # fmt: skip
        self.t_sf_accounts = self.table("sf_accounts", {
            "Id": "str", "Name": "str", "Type": "str", "ParentId": "str",
            "MasterRecordId": "str", "Industry": "str", "AnnualRevenue": "float",
            "NumberOfEmployees": "int", "Website": "str", "Phone": "str",
            "BillingCity": "str", "BillingCountry": "str", "OwnerId": "str",
            "Description": "str", "AccountSource": "str", "Segment__c": "str",
            "Region__c": "str", "Plan__c": "str", "Lifecycle_Stage__c": "str",
            "Product_Workspace_Id__c": "str", "Monthly_Spend__c": "float",
            "Seats__c": "int", "Customer_Since__c": "date", "Renewal_Date__c": "date",
            **sf_system,
        })  # fmt: skip
        self.t_sf_contacts = self.table("sf_contacts", {
            "Id": "str", "AccountId": "str", "FirstName": "str", "LastName": "str",
            "Name": "str", "Email": "str", "Title": "str", "Department": "str",
            "Phone": "str", "Contact_Role__c": "str", "LeadSource": "str",
            "HasOptedOutOfEmail": "bool", "MailingCountry": "str", "OwnerId": "str",
            "MasterRecordId": "str", **sf_system,
        })  # fmt: skip
        self.t_sf_opps = self.table("sf_opportunities", {
            "Id": "str", "AccountId": "str", "Name": "str", "StageName": "str",
            "Amount": "float", "Probability": "float", "CloseDate": "date", "Type": "str",
            "IsClosed": "bool", "IsWon": "bool", "ForecastCategory": "str",
            "LeadSource": "str", "OwnerId": "str", "Contract_Start_Date__c": "date",
            "Contract_End_Date__c": "date", "MRR__c": "float", **sf_system,
        })  # fmt: skip
        self.t_sf_ocr = self.table("sf_opportunity_contact_roles", {
            "Id": "str", "OpportunityId": "str", "ContactId": "str", "Role": "str",
            "IsPrimary": "bool", **sf_system,
        })  # fmt: skip
        self.t_zd_groups = self.table("zd_groups", {
            "id": "int", "name": "str", "description": "str", "default": "bool",
            "deleted": "bool", "created_at": "ts", "updated_at": "ts", "_valid_from": "ts",
        })  # fmt: skip
        self.t_zd_orgs = self.table("zd_organizations", {
            "id": "int", "name": "str", "domain_names": "json", "external_id": "str",
            "group_id": "int", "shared_tickets": "bool", "shared_comments": "bool",
            "tags": "json", "organization_fields": "json", "details": "str", "notes": "str",
            "created_at": "ts", "updated_at": "ts", "deleted_at": "ts", "_valid_from": "ts",
        })  # fmt: skip
        self.t_zd_users = self.table("zd_users", {
            "id": "int", "name": "str", "email": "str", "role": "str",
            "organization_id": "int", "active": "bool", "verified": "bool",
            "suspended": "bool", "time_zone": "str", "locale": "str", "tags": "json",
            "user_fields": "json", "external_id": "str", "created_at": "ts",
            "updated_at": "ts", "last_login_at": "ts", "_valid_from": "ts",
        })  # fmt: skip
        self.t_zd_tickets = self.table("zd_tickets", {
            "id": "int", "external_id": "str", "type": "str", "subject": "str",
            "description": "str", "priority": "str", "status": "str",
            "requester_id": "int", "submitter_id": "int", "assignee_id": "int",
            "organization_id": "int", "group_id": "int", "tags": "json", "via": "json",
            "satisfaction_rating": "json", "created_at": "ts", "updated_at": "ts",
            "_valid_from": "ts",
        })  # fmt: skip
        self.t_zd_ticket_events = self.table("zd_ticket_events", {
            "id": "int", "ticket_id": "int", "timestamp": "int", "created_at": "ts",
            "updater_id": "int", "via": "json", "event_type": "str",
            "child_events": "json", "_valid_from": "ts",
        })  # fmt: skip
        self.t_zd_metrics = self.table("zd_ticket_metrics", {
            "id": "int", "ticket_id": "int", "reopens": "int", "replies": "int",
            "assignee_stations": "int", "group_stations": "int", "created_at": "ts",
            "updated_at": "ts", "assigned_at": "ts", "initially_assigned_at": "ts",
            "solved_at": "ts", "status_updated_at": "ts", "latest_comment_added_at": "ts",
            "reply_time_in_minutes": "json", "first_resolution_time_in_minutes": "json",
            "full_resolution_time_in_minutes": "json", "_valid_from": "ts",
        })  # fmt: skip
        self.t_zd_ratings = self.table("zd_satisfaction_ratings", {
            "id": "int", "ticket_id": "int", "requester_id": "int", "assignee_id": "int",
            "group_id": "int", "score": "str", "comment": "str", "reason": "str",
            "created_at": "ts", "updated_at": "ts", "_valid_from": "ts",
        })  # fmt: skip
        self.t_qx_surveys = self.table("qx_surveys", {
            "id": "str", "name": "str", "ownerId": "str", "isActive": "bool",
            "creationDate": "ts", "lastModified": "ts", "survey_type": "str",
            "touchpoint": "str", "scale_min": "int", "scale_max": "int", "_valid_from": "ts",
        })  # fmt: skip
        self.t_qx_responses = self.table("qx_responses", {
            "responseId": "str", "surveyId": "str", "recordedDate": "ts", "startDate": "ts",
            "endDate": "ts", "duration": "int", "score": "int", "comment": "str",
            "RecipientEmail": "str", "RecipientFirstName": "str", "RecipientLastName": "str",
            "ExternalReference": "str", "touchpoint": "str", "ticket_id": "str",
            "opportunity_id": "str", "interaction_at_local": "str", "userLanguage": "str",
            "distributionChannel": "str", "_valid_from": "ts",
        })  # fmt: skip
        self.t_qx_invites = self.table("qx_invitations", {
            "surveyId": "str", "sent_at": "ts", "email": "str", "responded": "bool",
        })  # fmt: skip
        self.t_dl_people = self.table("dl_people", {
            "id": "str", "name": "str", "email": "str", "phone_number": "str",
            "created_at": "ts", "last_sent_at": "ts", "last_responded_at": "ts",
            "_valid_from": "ts",
        })  # fmt: skip
        self.t_dl_responses = self.table("dl_survey_responses", {
            "id": "str", "person_id": "str", "survey_type": "str", "score": "int",
            "comment": "str", "permalink": "str", "created_at": "ts", "updated_at": "ts",
            "person_properties": "json", "tags": "json", "notes": "json", "_valid_from": "ts",
        })  # fmt: skip
        self.t_amp_users = self.table("amp_users", {
            "user_index": "int", "user_id": "str", "email": "str", "role": "str",
            "company_id": "int", "workspace_id": "str", "created_at": "ts",
        })  # fmt: skip
        # Ground truth.
        self.t_gt_people = self.table("gt_people", {
            "person_id": "int", "company_id": "int", "account_id": "str", "email": "str",
            "role": "str", "is_free_mail": "bool", "zendesk_user_id": "int",
            "product_user_id": "str", "contact_id": "str",
        })  # fmt: skip
        self.t_gt_contacts = self.table("gt_contacts", {
            "contact_id": "str", "person_id": "int", "account_id": "str", "dirt": "str",
        })  # fmt: skip
        self.t_gt_orgs = self.table("gt_zendesk_organizations", {
            "organization_id": "int", "account_id": "str", "has_external_id": "bool",
            "name_is_variant": "bool", "is_duplicate": "bool",
        })  # fmt: skip
        self.t_gt_accounts = self.table("gt_salesforce_accounts", {
            "sf_account_id": "str", "company_id": "int", "surviving_account_id": "str",
            "is_merged_duplicate": "bool",
        })  # fmt: skip
        self.t_gt_respondents = self.table("gt_survey_respondents", {
            "source": "str", "response_id": "str", "person_id": "int", "account_id": "str",
            "survey_type": "str", "score": "int", "recorded_at": "ts", "topic": "str",
        })  # fmt: skip
        self.t_gt_periods = self.table("gt_paid_periods", {
            "company_id": "int", "account_id": "str", "started_at": "ts", "ended_at": "ts",
            "churned": "bool",
        })  # fmt: skip

    # -- Salesforce users (owners) -----------------------------------------------------
    def _generate_salesforce_users(self) -> None:
        rng = self.rng("sf_users")
        count = max(6, self.scale.accounts // 50)
        for number in range(1, count + 1):
            first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
            user_id = salesforce_id("User", number)
            created = HISTORY_START - rng.randrange(30, 400) * DAY
            title = "Account Executive" if number % 2 else "Customer Success Manager"
            email = f"{first}.{last}{number}@{VENDOR_DOMAIN}".lower().replace(" ", "")
            row = dict(
                Id=user_id, Username=email, FirstName=first, LastName=last,
                Name=f"{first} {last}", Email=email, Title=title,
                Department="Sales" if number % 2 else "Customer Success", IsActive=True,
                UserType="Standard", TimeZoneSidKey=rng.choice(names.REGION_TIMEZONES["NA"]),
                CreatedDate=created, LastModifiedDate=created, SystemModstamp=created,
                LastLoginDate=created + DAY, _valid_from=created,
            )  # fmt: skip
            self.t_sf_users.append(**row)
            self.owner_ids.append(user_id)
            if number > 3 and rng.random() < 0.15:
                left = rng.randrange(HISTORY_START + 200 * DAY, HORIZON)
                row.update(IsActive=False, LastModifiedDate=left, SystemModstamp=left)
                row["_valid_from"] = left
                self.t_sf_users.append(**row)

    # -- companies ---------------------------------------------------------------------
    def _generate_companies(self) -> None:
        count = self.scale.accounts
        stems = names.company_stems(count, self.rng("stems"))
        used_domains: set[str] = set()
        for index in range(count):
            rng = self.rng("company", index)
            segment, _, (lo, hi) = _pick(rng, SEGMENTS)
            region = _pick(rng, REGIONS)[0]
            stem = stems[index]
            legal = rng.choice(names.LEGAL_SUFFIXES[region])
            domain = stem.lower().replace(" ", "").replace(".", "") + rng.choice(
                names.REGION_TLDS[region]
            )
            while domain in used_domains:
                domain = "get" + domain
            used_domains.add(domain)
            span = HORIZON - 10 * DAY - (HISTORY_START - 180 * DAY)
            created = HISTORY_START - 180 * DAY + int(span * rng.random() ** 1.6)
            seats = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            plan = {"SMB": "Starter", "Mid-Market": "Growth", "Enterprise": "Enterprise"}[segment]
            if rng.random() < 0.2:
                plan = rng.choice(list(PLAN_PRICE))
            friction = rng.betavariate(2, 5)
            declines = rng.random() < 0.3
            company = Company(
                company_id=index + 1,
                account_id=salesforce_id("Account", index + 1),
                stem=stem, legal=legal, name=f"{stem} {legal}".strip(), domain=domain,
                segment=segment, region=region,
                country=rng.choice(names.REGION_COUNTRIES[region]),
                industry=None if rng.random() < 0.15 else rng.choice(names.INDUSTRIES),
                timezone=rng.choice(names.REGION_TIMEZONES[region]),
                seats=seats, plan=plan, owner_id=rng.choice(self.owner_ids),
                created_at=created, friction=friction,
                base_health=rng.gauss(0.9, 0.8) - 1.5 * friction,
                decline_start=created + rng.randrange(60, 900) * DAY if declines else None,
                decline_amount=rng.uniform(1.5, 3.0) if declines else 0.0,
            )  # fmt: skip
            # A few subsidiaries share their parent's web domain: a domain alone is then
            # ambiguous and must not decide the match.
            if index > 10 and rng.random() < 0.02:
                parent = self.companies[rng.randrange(len(self.companies))]
                if parent.parent_company_id is None and parent.created_at <= created:
                    company.parent_company_id = parent.company_id
                    company.domain = parent.domain
                    company.region = parent.region
            self._simulate_lifecycle(company, rng)
            self.companies.append(company)

    def _simulate_lifecycle(self, company: Company, rng: random.Random) -> None:
        sales_led = company.segment == "Enterprise" and rng.random() < 0.6
        paid_at: int | None = None
        if sales_led:
            if rng.random() < 0.55:
                paid_at = company.created_at + rng.randrange(30, 150) * DAY
        elif rng.random() < 0.8:
            company.trial_at = company.created_at + int(rng.expovariate(1 / 40) * DAY) + HOUR
            if rng.random() < 0.7:
                paid_at = company.trial_at + rng.randrange(14, 45) * DAY
        if company.trial_at is not None and company.trial_at < HORIZON:
            company.workspace_at = company.trial_at
        if paid_at is not None and paid_at < HORIZON:
            if company.workspace_at is None:
                company.workspace_at = paid_at
            self._simulate_contracts(company, paid_at, rng)
        if company.workspace_at is not None:
            company.workspace_id = f"ws_{company.company_id:06d}"

    def _simulate_contracts(self, company: Company, paid_at: int, rng: random.Random) -> None:
        start = paid_at
        mrr = company.seats * PLAN_PRICE[company.plan]
        while start < HORIZON:
            period_start = start
            term_start = start
            while True:
                term_end = term_start + 365 * DAY
                company.mrr_by_term.append((term_start, term_end, round(mrr, 2)))
                if term_end >= HORIZON:
                    company.paid_periods.append([period_start, term_end])
                    return
                health = company.health(term_end)
                churn_probability = _sigmoid(-2.2 * health - 1.2)
                if rng.random() < churn_probability:
                    company.paid_periods.append([period_start, term_end])
                    break
                change = rng.uniform(0.05, 0.4) if health > 0.5 else -rng.uniform(0.0, 0.3)
                mrr = max(PLAN_PRICE[company.plan] * 3, mrr * (1 + change))
                term_start = term_end
            if rng.random() >= 0.2:
                return
            start = term_end + rng.randrange(90, 300) * DAY
            mrr = company.seats * PLAN_PRICE[company.plan] * rng.uniform(0.5, 1.0)

    # -- per company sources -----------------------------------------------------------
    def _generate_company(self, company: Company) -> None:
        self._generate_people(company)
        self._emit_account(company)
        self._emit_contacts(company)
        self._emit_opportunities(company)
        if company.workspace_id is not None:
            self._emit_zendesk_org_and_users(company)
            self._emit_tickets(company)
            self._emit_delighted(company)
        self._emit_relationship_nps(company)

    def _new_person(self, rng: random.Random, domain: str, role: str, tz: str) -> Person:
        self._person_seq += 1
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        local = local.encode("ascii", "ignore").decode() or f"user{self._person_seq}"
        free = rng.random() < 0.08
        if free:
            email = f"{local}{self._person_seq}@{rng.choice(names.FREE_MAIL)}"
        else:
            email = f"{local}{self._person_seq}@{domain}"
        return Person(self._person_seq, first, last, email, role, free, tz)

    def _generate_people(self, company: Company) -> None:
        rng = self.rng("people", company.company_id)
        factor = SEGMENT_CONTACT_FACTOR[company.segment]
        n_contacts = max(2, round(rng.gauss(1, 0.25) * factor * self.scale.contacts_per_account))
        roles = ["decision_maker", "champion", "admin"]
        if company.segment == "Enterprise":
            roles += ["decision_maker", "champion"]
        roles += ["end_user"] * max(0, n_contacts - len(roles))
        for role in roles[:n_contacts]:
            company.people.append(self._new_person(rng, company.domain, role, company.timezone))
        if company.workspace_id is not None:
            extra = max(1, round(company.seats * self.scale.product_users_per_seat))
            for _ in range(extra):
                person = self._new_person(rng, company.domain, "end_user", company.timezone)
                person.is_product_only = True  # never a Salesforce contact
                company.people.append(person)

    def _account_row(self, company: Company, **changes: object) -> dict:
        rng = self.rng("account-static", company.company_id)
        row: dict = dict(
            Id=company.account_id, Name=company.name, Type="Prospect",
            ParentId=None, MasterRecordId=None, Industry=company.industry,
            AnnualRevenue=None if rng.random() < 0.4 else float(company.seats * 50_000),
            NumberOfEmployees=None if rng.random() < 0.3 else company.seats * 4,
            Website=None if rng.random() < 0.1 else rng.choice(
                [f"https://www.{company.domain}", f"www.{company.domain}", company.domain,
                 f"http://{company.domain}/"]),
            Phone=None if rng.random() < 0.5 else f"+1 555 {company.company_id:07d}",
            BillingCity=None, BillingCountry=company.country, OwnerId=company.owner_id,
            Description=None, AccountSource=rng.choice(["Web", "Partner", "Outbound", None]),
            Segment__c=company.segment, Region__c=company.region, Plan__c=None,
            Lifecycle_Stage__c="Prospect", Product_Workspace_Id__c=None,
            Monthly_Spend__c=None, Seats__c=None, Customer_Since__c=None,
            Renewal_Date__c=None, IsDeleted=False, CreatedDate=company.created_at,
        )  # fmt: skip
        if company.parent_company_id is not None:
            row["ParentId"] = salesforce_id("Account", company.parent_company_id)
        row.update(changes)
        return row

    def _emit_account(self, company: Company) -> None:
        rng = self.rng("account", company.company_id)
        shares_workspace_id = rng.random() < 0.85
        versions: list[tuple[int, dict]] = [(company.created_at, {})]
        if company.trial_at is not None and company.trial_at < HORIZON:
            versions.append((company.trial_at, {"Lifecycle_Stage__c": "Trial"}))
        customer_since = company.paid_periods[0][0] if company.paid_periods else None
        for start, end, mrr in company.mrr_by_term:
            changes = {
                "Type": "Customer", "Lifecycle_Stage__c": "Customer", "Plan__c": company.plan,
                "Monthly_Spend__c": mrr, "Seats__c": company.seats,
                "Customer_Since__c": customer_since, "Renewal_Date__c": end,
                "Product_Workspace_Id__c": company.workspace_id if shares_workspace_id else None,
            }  # fmt: skip
            versions.append((start, changes))
        for _start, end in company.paid_periods:
            if end < HORIZON:
                versions.append((end, {
                    "Type": "Former Customer", "Lifecycle_Stage__c": "Churned",
                    "Monthly_Spend__c": 0.0, "Renewal_Date__c": None,
                }))  # fmt: skip
        # Quarterly data-quality jobs touch many accounts at the very same instant, so
        # SystemModstamp has ties that paging must not split or skip.
        job = HISTORY_START + 45 * DAY
        while job < HORIZON:
            if job > company.created_at and rng.random() < 0.25:
                versions.append((job, {"Description": f"Reviewed by data quality job {job}"}))
            job += 91 * DAY
        versions.sort(key=lambda item: item[0])
        state: dict = {}
        for when, changes in versions:
            if when >= HORIZON:
                continue
            state.update(changes)
            row = self._account_row(company, **state)
            self.t_sf_accounts.append(
                **row, LastModifiedDate=when, SystemModstamp=when, _valid_from=when
            )
        self.t_gt_accounts.append(
            sf_account_id=company.account_id, company_id=company.company_id,
            surviving_account_id=company.account_id, is_merged_duplicate=False,
        )  # fmt: skip
        # Some companies were entered twice; sales ops merged the duplicate into the survivor.
        if company.created_at < ANCHOR - 250 * DAY and rng.random() < 0.04:
            dup_number = 500_000 + company.company_id
            dup_id = salesforce_id("Account", dup_number)
            created = company.created_at + rng.randrange(1, 100) * DAY
            merged = created + rng.randrange(10, 150) * DAY
            if rng.random() < 0.3:
                # Merged within Salesforce's 15-day recycle-bin window before the anchor,
                # so queryAll still shows the soft delete at the sandbox's initial clock.
                merged = ANCHOR - rng.randrange(1, 14) * DAY
            base = self._account_row(company, Id=dup_id, CreatedDate=created)
            base["Name"] = names.name_variant(company.stem, company.legal, rng).strip()
            base["Website"] = None
            self.t_sf_accounts.append(
                **base, LastModifiedDate=created, SystemModstamp=created, _valid_from=created
            )
            base.update(IsDeleted=True, MasterRecordId=company.account_id)
            self.t_sf_accounts.append(
                **base, LastModifiedDate=merged, SystemModstamp=merged, _valid_from=merged
            )
            self.t_gt_accounts.append(
                sf_account_id=dup_id, company_id=company.company_id,
                surviving_account_id=company.account_id, is_merged_duplicate=True,
            )  # fmt: skip

    def _emit_contacts(self, company: Company) -> None:
        rng = self.rng("contacts", company.company_id)
        for person in company.people:
            if not person.is_product_only and rng.random() < 0.97:
                self._emit_contact(company, person, rng)

    def _emit_contact(self, company: Company, person: Person, rng: random.Random) -> None:
        number = self.next_id("contact")
        contact_id = salesforce_id("Contact", number)
        person.contact_id = contact_id
        created = company.created_at + rng.randrange(0, 120) * DAY + rng.randrange(DAY)
        if created >= HORIZON:
            created = company.created_at + rng.randrange(DAY)
        person.contact_created_at = created
        title = None if rng.random() < 0.25 else rng.choice(names.ROLE_TITLES[person.role])
        role_label = None if rng.random() < 0.08 else names.SF_ROLE_LABEL[person.role]
        row = dict(
            Id=contact_id, AccountId=company.account_id, FirstName=person.first,
            LastName=person.last, Name=f"{person.first} {person.last}", Email=person.email,
            Title=title, Department=None if rng.random() < 0.5 else "Operations",
            Phone=None if rng.random() < 0.4 else f"+1 555 {number:07d}",
            Contact_Role__c=role_label, LeadSource=rng.choice(["Web", "Event", None]),
            HasOptedOutOfEmail=rng.random() < 0.03, MailingCountry=company.country,
            OwnerId=company.owner_id, MasterRecordId=None, IsDeleted=False,
            CreatedDate=created, LastModifiedDate=created, SystemModstamp=created,
            _valid_from=created,
        )  # fmt: skip
        self.t_sf_contacts.append(**row)
        dirt = "clean"
        if rng.random() < 0.1:
            changed = created + rng.randrange(30, 600) * DAY
            if changed < HORIZON:
                row.update(Title=rng.choice(names.ROLE_TITLES[person.role]))
                row.update(LastModifiedDate=changed, SystemModstamp=changed, _valid_from=changed)
                self.t_sf_contacts.append(**row)
        deletion_roll = rng.random()
        if deletion_roll < 0.035:
            gone = created + rng.randrange(30, 700) * DAY
            if deletion_roll < 0.015:
                # People who leave just after the anchor: deletes an incremental sync must see.
                gone = max(created + DAY, ANCHOR + rng.randrange(DAY, 10 * DAY))
            if gone < HORIZON:
                row.update(IsDeleted=True, LastModifiedDate=gone, SystemModstamp=gone)
                row["_valid_from"] = gone
                self.t_sf_contacts.append(**row)
                dirt = "deleted"
        self.t_gt_contacts.append(
            contact_id=contact_id, person_id=person.person_id,
            account_id=company.account_id, dirt=dirt,
        )  # fmt: skip
        if dirt == "clean" and rng.random() < 0.04:
            # The same person entered again by another rep, e-mail in other case.
            dup_number = self.next_id("contact")
            dup_id = salesforce_id("Contact", dup_number)
            dup_created = created + rng.randrange(1, 200) * DAY
            if dup_created < HORIZON:
                dup = dict(row, Id=dup_id, Email=person.email.capitalize(), Title=None,
                           Phone=None, CreatedDate=dup_created, LastModifiedDate=dup_created,
                           SystemModstamp=dup_created, _valid_from=dup_created)  # fmt: skip
                self.t_sf_contacts.append(**dup)
                self.t_gt_contacts.append(
                    contact_id=dup_id, person_id=person.person_id,
                    account_id=company.account_id, dirt="duplicate",
                )  # fmt: skip

    def _emit_opportunities(self, company: Company) -> None:
        rng = self.rng("opps", company.company_id)
        primary = next((p for p in company.people if p.role == "decision_maker"), None)
        terms = company.mrr_by_term
        previous_end: int | None = None
        for index, (start, end, mrr) in enumerate(terms):
            kind = "New Business" if previous_end != start else "Renewal"
            self._emit_opportunity(company, rng, kind, start, mrr, start, end, True, primary)
            previous_end = end
            renewal_lost = index + 1 == len(terms) or terms[index + 1][0] != end
            if renewal_lost and end < HORIZON:  # the customer churned at this renewal
                self._emit_opportunity(company, rng, "Renewal", end, mrr, end,
                                       end + 365 * DAY, False, primary)  # fmt: skip
            if company.health(start + 150 * DAY) > 1.0 and rng.random() < 0.25:
                close = start + rng.randrange(120, 240) * DAY
                delta = round(mrr * rng.uniform(0.1, 0.3), 2)
                if close < min(end, HORIZON):
                    self._emit_opportunity(company, rng, "Expansion", close, delta, close, end,
                                           True, primary)  # fmt: skip
        if not terms and rng.random() < 0.5:
            close = company.created_at + rng.randrange(30, 200) * DAY
            self._emit_opportunity(company, rng, "New Business", close,
                                   company.seats * PLAN_PRICE[company.plan], close,
                                   close + 365 * DAY, False if close < ANCHOR - 60 * DAY else None,
                                   primary)  # fmt: skip

    def _emit_opportunity(
        self, company: Company, rng: random.Random, kind: str, close: int, mrr: float,
        contract_start: int, contract_end: int, won: bool | None, primary: Person | None,
    ) -> None:  # fmt: skip
        """`won=None` means still open (pipeline)."""
        created = max(company.created_at, close - rng.randrange(20, 90) * DAY)
        if created >= HORIZON:
            return
        number = self.next_id("opportunity")
        opp_id = salesforce_id("Opportunity", number)
        months = max(1, round((contract_end - contract_start) / (30.4 * DAY)))
        row = dict(
            Id=opp_id, AccountId=company.account_id, Name=f"{company.stem} — {kind}",
            StageName="Qualification", Amount=round(mrr * months, 2), Probability=20.0,
            CloseDate=close, Type=kind, IsClosed=False, IsWon=False,
            ForecastCategory="Pipeline", LeadSource=rng.choice(["Web", "Partner", None]),
            OwnerId=company.owner_id, Contract_Start_Date__c=contract_start,
            Contract_End_Date__c=contract_end, MRR__c=mrr, IsDeleted=False,
            CreatedDate=created, LastModifiedDate=created, SystemModstamp=created,
            _valid_from=created,
        )  # fmt: skip
        self.t_sf_opps.append(**row)
        if won is not None and close < HORIZON:
            row.update(
                StageName="Closed Won" if won else "Closed Lost", IsClosed=True, IsWon=won,
                Probability=100.0 if won else 0.0, ForecastCategory="Closed" if won else "Omitted",
                LastModifiedDate=close, SystemModstamp=close, _valid_from=close,
            )  # fmt: skip
            self.t_sf_opps.append(**row)
        role_added = max(created, (primary and primary.contact_created_at) or created)
        if primary is not None and primary.contact_id and role_added < HORIZON:
            # A contact role can only name a contact that exists already.
            self.t_sf_ocr.append(
                Id=salesforce_id("OpportunityContactRole", number), OpportunityId=opp_id,
                ContactId=primary.contact_id, Role="Decision Maker", IsPrimary=True,
                IsDeleted=False, CreatedDate=role_added, LastModifiedDate=role_added,
                SystemModstamp=role_added, _valid_from=role_added,
            )  # fmt: skip
        if won is not None and close < HORIZON and primary is not None:
            self._maybe_sales_txs(company, primary, opp_id, close, rng)

    # -- Zendesk -----------------------------------------------------------------------
    def _generate_zendesk_agents_and_groups(self) -> None:
        rng = self.rng("zendesk_agents")
        created = HISTORY_START - 400 * DAY
        for number, name in enumerate(ZENDESK_GROUPS, start=1):
            group_id = zendesk_id(0, number)
            self.group_ids[name] = group_id
            self.t_zd_groups.append(
                id=group_id, name=name, description=f"{name} queue", default=number == 1,
                deleted=False, created_at=created, updated_at=created, _valid_from=created,
            )  # fmt: skip
            self.agent_ids_by_group[group_id] = []
        n_agents = max(8, self.scale.accounts // 30)
        for number in range(1, n_agents + 1):
            self._zendesk_user_seq += 1
            user_id = zendesk_id(1, self._zendesk_user_seq)
            group_id = self.group_ids[ZENDESK_GROUPS[number % len(ZENDESK_GROUPS)]]
            self.agent_ids_by_group[group_id].append(user_id)
            first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
            joined = created + rng.randrange(0, 300) * DAY
            self.t_zd_users.append(
                id=user_id, name=f"{first} {last}", role="agent" if number > 2 else "admin",
                email=f"{first}.{last}.{number}@{VENDOR_DOMAIN}".lower().replace(" ", ""),
                organization_id=None, active=True, verified=True, suspended=False,
                time_zone="UTC", locale="en-US", tags=["staff"], user_fields={},
                external_id=None, created_at=joined, updated_at=joined,
                last_login_at=joined + DAY, _valid_from=joined,
            )  # fmt: skip

    def _emit_zendesk_org_and_users(self, company: Company) -> None:
        rng = self.rng("zendesk_org", company.company_id)
        assert company.workspace_at is not None
        created = company.workspace_at + rng.randrange(HOUR, 3 * DAY)
        if created >= HORIZON:
            return
        org_id = zendesk_id(2, company.company_id)
        company.org_id = org_id
        variant = rng.random() < 0.45
        name = names.name_variant(company.stem, company.legal, rng) if variant else company.name
        has_external = rng.random() < 0.65
        self.t_zd_orgs.append(
            id=org_id, name=name,
            domain_names=[company.domain] if rng.random() < 0.7 else [],
            external_id=company.account_id if has_external else None,
            group_id=None, shared_tickets=False, shared_comments=False,
            tags=[company.segment.lower().replace("-", "_")],
            organization_fields={"plan": company.plan if rng.random() < 0.5 else None},
            details=None, notes=None, created_at=created, updated_at=created,
            deleted_at=None, _valid_from=created,
        )  # fmt: skip
        self.t_gt_orgs.append(
            organization_id=org_id, account_id=company.account_id,
            has_external_id=has_external, name_is_variant=variant, is_duplicate=False,
        )  # fmt: skip
        duplicate_org: int | None = None
        if rng.random() < 0.03:
            duplicate_org = zendesk_id(2, 500_000 + company.company_id)
            self.t_zd_orgs.append(
                id=duplicate_org, name=names.name_variant(company.stem, company.legal, rng),
                domain_names=[], external_id=None, group_id=None, shared_tickets=False,
                shared_comments=False, tags=[], organization_fields={}, details=None,
                notes="created from an e-mail", created_at=created + 5 * DAY,
                updated_at=created + 5 * DAY, deleted_at=None, _valid_from=created + 5 * DAY,
            )  # fmt: skip
            self.t_gt_orgs.append(
                organization_id=duplicate_org, account_id=company.account_id,
                has_external_id=False, name_is_variant=True, is_duplicate=True,
            )  # fmt: skip
        # Product users are provisioned into Zendesk (SSO), so each can open tickets.
        for person in company.people:
            if person.role == "decision_maker" and rng.random() < 0.5:
                continue
            self._zendesk_user_seq += 1
            person.zendesk_user_id = zendesk_id(1, self._zendesk_user_seq)
            self._product_user_seq += 1
            person.product_user_index = self._product_user_seq
            joined = created + rng.randrange(0, 30) * DAY + rng.randrange(DAY)
            joined = min(joined, HORIZON - 1)
            person.zendesk_joined_at = joined
            org = org_id if rng.random() < 0.8 else None
            if duplicate_org is not None and org is not None and rng.random() < 0.3:
                org = duplicate_org
            row = dict(
                id=person.zendesk_user_id, name=f"{person.first} {person.last}",
                email=person.email, role="end-user", organization_id=org, active=True,
                verified=rng.random() < 0.9, suspended=False,
                time_zone=None if rng.random() < 0.3 else person.timezone,
                locale="en-US", tags=[], user_fields={}, external_id=None,
                created_at=joined, updated_at=joined, last_login_at=None, _valid_from=joined,
            )  # fmt: skip
            self.t_zd_users.append(**row)
            # Churn suspends the workspace's users; reactivation restores them.
            for index, (_start, end) in enumerate(company.paid_periods):
                if end >= HORIZON or end <= joined:
                    continue
                row.update(suspended=True, updated_at=end + HOUR, _valid_from=end + HOUR)
                self.t_zd_users.append(**row)
                if index + 1 < len(company.paid_periods):
                    back = company.paid_periods[index + 1][0] + HOUR
                    row.update(suspended=False, updated_at=back, _valid_from=back)
                    self.t_zd_users.append(**row)
            self.t_amp_users.append(
                user_index=person.product_user_index, user_id=f"u_{person.product_user_index}",
                email=person.email if rng.random() < 0.7 else None, role=person.role,
                company_id=company.company_id, workspace_id=company.workspace_id,
                created_at=joined,
            )  # fmt: skip

    def _generate_free_individuals(self) -> None:
        """Individuals on the free plan with personal e-mail: support users of no company."""
        rng = self.rng("free_individuals")
        for _ in range(max(3, self.scale.accounts // 5)):
            person = self._new_person(rng, "example.invalid", "end_user", "UTC")
            person.email = f"{person.first}.{person.last}{person.person_id}@{rng.choice(names.FREE_MAIL)}".lower()
            person.is_free_mail = True
            self._zendesk_user_seq += 1
            person.zendesk_user_id = zendesk_id(1, self._zendesk_user_seq)
            joined = HISTORY_START + rng.randrange(0, (HORIZON - HISTORY_START) // DAY) * DAY
            self.t_zd_users.append(
                id=person.zendesk_user_id, name=f"{person.first} {person.last}",
                email=person.email, role="end-user", organization_id=None, active=True,
                verified=False, suspended=False, time_zone=None, locale="en-US", tags=[],
                user_fields={}, external_id=None, created_at=joined, updated_at=joined,
                last_login_at=None, _valid_from=joined,
            )  # fmt: skip
            self.free_individuals.append(person)
            for _ticket in range(rng.randrange(0, 3)):
                when = joined + rng.randrange(0, 200) * DAY + rng.randrange(DAY)
                if when < HORIZON:
                    self._emit_ticket(None, person, when, rng)

    def _emit_tickets(self, company: Company) -> None:
        rng = self.rng("tickets", company.company_id)
        requesters = [p for p in company.people if p.zendesk_user_id is not None]
        if not requesters or company.org_id is None:
            return
        monthly = self.scale.tickets_per_account_year / 12
        size = {"SMB": 0.6, "Mid-Market": 1.3, "Enterprise": 3.0}[company.segment]
        month = (company.workspace_at or HORIZON) + 2 * DAY
        while month < HORIZON:
            if company.workspace_live_at(month):
                health = company.health(month)
                rate = monthly * size * (1 + 1.5 * company.friction) * (1 + max(0.0, -health))
                if not company.paying_at(month):
                    rate *= 0.3
                for _ in range(self._poisson(rng, rate)):
                    created = month + rng.randrange(30 * DAY)
                    # Only people who have a Zendesk user by then can open a ticket.
                    joined = [p for p in requesters if (p.zendesk_joined_at or 0) <= created]
                    if created < HORIZON and joined:
                        self._emit_ticket(company, rng.choice(joined), created, rng)
            month += 30 * DAY

    @staticmethod
    def _poisson(rng: random.Random, lam: float) -> int:
        if lam > 30:
            return max(0, round(rng.gauss(lam, math.sqrt(lam))))
        threshold, count, product = math.exp(-lam), 0, rng.random()
        while product > threshold:
            count += 1
            product *= rng.random()
        return count

    def _emit_ticket(
        self, company: Company | None, requester: Person, created: int, rng: random.Random
    ) -> None:
        ticket_number = self.next_id("ticket")
        ticket_id = 100_000 + ticket_number
        friction = company.friction if company else 0.3
        health = company.health(created) if company else 0.0
        priority = _pick(rng, [("low", 0.2), ("normal", 0.55), ("high", 0.18), ("urgent", 0.07)])[0]
        group_name = _pick(
            rng, [("Tier 1 Support", 0.7), ("Billing", 0.1), ("Tier 2 Support", 0.2)]
        )[0]
        group_id = self.group_ids[group_name]
        agents = (
            self.agent_ids_by_group[group_id]
            or self.agent_ids_by_group[self.group_ids["Tier 1 Support"]]
        )
        assignee = rng.choice(agents)
        subject = rng.choice(names.TICKET_SUBJECTS)
        channel = rng.choice(["email", "web", "web", "chat", "api"])
        org_id = company.org_id if company else None
        speed = {"urgent": 0.6, "high": 2.5, "normal": 7.0, "low": 14.0}[priority]
        if company and company.segment == "Enterprise":
            speed *= 0.6
        speed *= 1 + 2.5 * friction
        state = {
            "status": "new", "priority": priority, "group_id": group_id, "assignee_id": None,
            "tags": [], "satisfaction_rating": None,
        }  # fmt: skip
        audits: list[tuple[int, int, list[dict]]] = []  # (time, updater, child events)

        def audit(when: int, updater: int, children: list[dict]) -> None:
            audits.append((when, updater, children))

        def change(field: str, value: object) -> dict:
            previous = state[field]
            state[field] = value
            return {"event_type": "Change", "field_name": field, "value": value,
                    "previous_value": previous}  # fmt: skip

        def comment(author: int, public: bool, body: str) -> dict:
            return {"event_type": "Comment", "author_id": author, "public": public, "body": body}

        assert requester.zendesk_user_id is not None
        req = requester.zendesk_user_id
        audit(created, req, [
            {"event_type": "Create", "field_name": "status", "value": "new"},
            {"event_type": "Create", "field_name": "priority", "value": priority},
            {"event_type": "Create", "field_name": "group_id", "value": group_id},
            comment(req, True, f"{subject}. Please help."),
        ])  # fmt: skip
        now = created
        if rng.random() < 0.01:
            now += rng.randrange(HOUR, 2 * DAY)
            audit(now, assignee, [change("status", "deleted")])
        else:
            now += rng.randrange(MINUTE, 2 * HOUR)
            audit(now, assignee, [change("status", "open"), change("assignee_id", assignee)])
            public_replies = 0
            rounds = 1 + (rng.random() < 0.5) + (rng.random() < 0.15)
            for _ in range(rounds):
                now += int(rng.lognormvariate(math.log(speed * HOUR), 0.8))
                children = [comment(assignee, True, "Thanks for reaching out, here is what we found."),
                            change("status", "pending")]  # fmt: skip
                if rng.random() < 0.3:
                    children.insert(0, comment(assignee, False, "Internal note: checked logs."))
                audit(now, assignee, children)
                public_replies += 1
                if _ < rounds - 1:
                    now += rng.randrange(HOUR, DAY)
                    audit(now, req, [comment(req, True, "Still not working for us."),
                                     change("status", "open")])  # fmt: skip
            if rng.random() < 0.04 + 0.1 * friction + 0.05 * max(0.0, -health):
                now += rng.randrange(MINUTE, 4 * HOUR)
                how = rng.randrange(3)
                if how == 0 and state["priority"] != "urgent":
                    audit(now, assignee, [change("priority", "urgent")])
                elif how == 1:
                    escalations = self.group_ids["Escalations"]
                    assignee = rng.choice(self.agent_ids_by_group[escalations])
                    audit(now, assignee, [change("group_id", escalations),
                                          change("assignee_id", assignee)])  # fmt: skip
                else:
                    audit(now, assignee, [change("tags", ["escalated"])])
            now += rng.randrange(10 * MINUTE, DAY)
            audit(now, assignee, [change("status", "solved")])
            if rng.random() < 0.05 + 0.12 * friction:
                now += rng.randrange(HOUR, 3 * DAY)
                audit(now, req, [comment(req, True, "This is happening again."),
                                 change("status", "open")])  # fmt: skip
                now += int(rng.lognormvariate(math.log(speed * HOUR), 0.8))
                audit(now, assignee, [comment(assignee, True, "Fixed for good now."),
                                      change("status", "solved")])  # fmt: skip
                public_replies += 1
            solved_at = now
            if rng.random() < 0.6:
                offered_at = solved_at + HOUR
                answered = rng.random() < 0.45
                slow = (solved_at - created) / (speed * HOUR * 3)
                bad = rng.random() < _sigmoid(-1.5 * health + 0.8 * slow - 1.2)
                self._emit_satisfaction(ticket_id, req, assignee, state["group_id"], offered_at,
                                        answered, bad, rng)  # fmt: skip
                if company is not None:
                    self._maybe_support_surveys(company, requester, ticket_id, solved_at,
                                                created, slow, health, rng)  # fmt: skip
            now = solved_at + 4 * DAY
            audit(now, assignee, [change("status", "closed")])
        self._emit_ticket_rows(ticket_id, company, requester, org_id, subject, channel, audits,
                               state, created, rng)  # fmt: skip

    def _emit_ticket_rows(
        self, ticket_id: int, company: Company | None, requester: Person, org_id: int | None,
        subject: str, channel: str, audits: list[tuple[int, int, list[dict]]],
        final_state: dict, created: int, rng: random.Random,
    ) -> None:  # fmt: skip
        del final_state, rng
        state = {"status": "new", "priority": None, "group_id": None, "assignee_id": None,
                 "tags": []}  # fmt: skip
        replies = reopens = stations = 0
        first_reply_at = solved_at = first_solved_at = assigned_at = None
        last_status = "new"
        for when, updater, children in audits:
            if when >= HORIZON:
                break
            for child in children:
                if child["event_type"] in ("Create", "Change"):
                    state[child["field_name"]] = child["value"]
                    if child["field_name"] == "assignee_id":
                        stations += 1
                        assigned_at = assigned_at or when
                if (
                    child["event_type"] == "Comment"
                    and child["public"]
                    and child["author_id"] != requester.zendesk_user_id
                ):
                    replies += 1
                    first_reply_at = first_reply_at or when
            if state["status"] == "solved" and last_status != "solved":
                solved_at = when
                first_solved_at = first_solved_at or when
            if state["status"] == "open" and last_status == "solved":
                reopens += 1
            last_status = state["status"]
            event_id = zendesk_id(4, self.next_id("ticket_event"))
            child_rows = []
            for position, child in enumerate(children):
                child_rows.append({"id": event_id * 10 + position, "via": channel, **child})
            self.t_zd_ticket_events.append(
                id=event_id, ticket_id=ticket_id, timestamp=when, created_at=when,
                updater_id=updater, via={"channel": channel}, event_type="Audit",
                child_events=child_rows, _valid_from=when,
            )  # fmt: skip
            self.t_zd_tickets.append(
                id=ticket_id, external_id=None, type="question", subject=subject,
                description=f"{subject}. Please help.", priority=state["priority"],
                status=state["status"], requester_id=requester.zendesk_user_id,
                submitter_id=requester.zendesk_user_id, assignee_id=state["assignee_id"],
                organization_id=org_id, group_id=state["group_id"], tags=state["tags"],
                via={"channel": channel, "source": {"rel": None}}, satisfaction_rating=None,
                created_at=created, updated_at=when, _valid_from=when,
            )  # fmt: skip
            minutes = lambda at: None if at is None else (at - created) // MINUTE  # noqa: E731
            self.t_zd_metrics.append(
                id=zendesk_id(5, ticket_id), ticket_id=ticket_id, reopens=reopens,
                replies=replies, assignee_stations=stations, group_stations=1,
                created_at=created, updated_at=when, assigned_at=assigned_at,
                initially_assigned_at=assigned_at, solved_at=solved_at,
                status_updated_at=when, latest_comment_added_at=when,
                reply_time_in_minutes={"calendar": minutes(first_reply_at), "business": None},
                first_resolution_time_in_minutes={"calendar": minutes(first_solved_at), "business": None},
                full_resolution_time_in_minutes={"calendar": minutes(solved_at), "business": None},
                _valid_from=when,
            )  # fmt: skip
        del company

    def _emit_satisfaction(
        self, ticket_id: int, requester: int, assignee: int, group_id: int, offered_at: int,
        answered: bool, bad: bool, rng: random.Random,
    ) -> None:  # fmt: skip
        if offered_at >= HORIZON:
            return
        rating_id = zendesk_id(6, ticket_id)
        row = dict(
            id=rating_id, ticket_id=ticket_id, requester_id=requester, assignee_id=assignee,
            group_id=group_id, score="offered", comment=None, reason=None,
            created_at=offered_at, updated_at=offered_at, _valid_from=offered_at,
        )  # fmt: skip
        self.t_zd_ratings.append(**row)
        answered_at = offered_at + rng.randrange(HOUR, 2 * DAY)
        if answered and answered_at < HORIZON:
            sentiment = "negative" if bad else "positive"
            text = names.comment_for(sentiment, rng)[0] if rng.random() < 0.5 else None
            row.update(score="bad" if bad else "good", comment=text,
                       reason="Issue took too long to resolve" if bad else None,
                       updated_at=answered_at, _valid_from=answered_at)  # fmt: skip
            self.t_zd_ratings.append(**row)

    # -- Qualtrics ---------------------------------------------------------------------
    def _generate_qualtrics_catalogue(self) -> None:
        created = HISTORY_START - 60 * DAY
        for number, (key, name, kind, touchpoint, lo, hi) in enumerate(QUALTRICS_SURVEYS, 1):
            self.t_qx_surveys.append(
                id=self.survey_id(key), name=name, ownerId="UR_cx360owner", isActive=True,
                creationDate=created + number * HOUR, lastModified=created + number * DAY,
                survey_type=kind, touchpoint=touchpoint, scale_min=lo, scale_max=hi,
                _valid_from=created + number * HOUR,
            )  # fmt: skip

    def survey_id(self, key: str) -> str:
        number = [s[0] for s in QUALTRICS_SURVEYS].index(key) + 1
        return qualtrics_id("SV", number)

    def _score(self, rng: random.Random, latent: float, lo: int, hi: int) -> int:
        middle = lo + (hi - lo) * 0.72
        spread = (hi - lo) / 5
        return max(lo, min(hi, round(middle + spread * latent + rng.gauss(0, spread * 0.7))))

    def _sentiment_of(self, score: int, lo: int, hi: int) -> str:
        position = (score - lo) / (hi - lo)
        return "positive" if position >= 0.8 else "negative" if position < 0.6 else "neutral"

    def _qualtrics_response(
        self, key: str, person: Person, company: Company, sent_at: int, latent: float,
        rng: random.Random, ticket_id: int | None = None, opportunity_id: str | None = None,
        response_probability: float = 0.3,
    ) -> None:  # fmt: skip
        if sent_at >= HORIZON:
            return
        _, _, kind, touchpoint, lo, hi = next(s for s in QUALTRICS_SURVEYS if s[0] == key)
        responded = rng.random() < response_probability
        recorded = sent_at + rng.randrange(MINUTE * 10, 7 * DAY)
        responded = responded and recorded < HORIZON
        self.t_qx_invites.append(
            surveyId=self.survey_id(key), sent_at=sent_at, email=person.email, responded=responded
        )
        if not responded:
            return
        score = self._score(rng, latent, lo, hi)
        text, topic = (None, None)
        if rng.random() < 0.45:
            text, topic = names.comment_for(self._sentiment_of(score, lo, hi), rng)
        response_id = qualtrics_id("R", self.next_id("qualtrics_response"))
        duration = rng.randrange(20, 600)
        offset_hours = {"NA": -5, "EMEA": 1, "APAC": 8, "LATAM": -3}[company.region]
        local = recorded + offset_hours * HOUR
        from datetime import UTC, datetime, timedelta, timezone  # local import: rare path

        local_text = (
            datetime.fromtimestamp(local, tz=UTC)
            .replace(tzinfo=timezone(timedelta(hours=offset_hours)))
            .isoformat()
        )
        self.t_qx_responses.append(
            responseId=response_id, surveyId=self.survey_id(key), recordedDate=recorded,
            startDate=recorded - duration, endDate=recorded, duration=duration, score=score,
            comment=text, RecipientEmail=person.email, RecipientFirstName=person.first,
            RecipientLastName=person.last,
            ExternalReference=person.contact_id if rng.random() < 0.7 else None,
            touchpoint=touchpoint, ticket_id=str(ticket_id) if ticket_id else None,
            opportunity_id=opportunity_id, interaction_at_local=local_text,
            userLanguage="EN", distributionChannel="email", _valid_from=recorded,
        )  # fmt: skip
        self.t_gt_respondents.append(
            source="qualtrics", response_id=response_id, person_id=person.person_id,
            account_id=company.account_id, survey_type=kind, score=score,
            recorded_at=recorded, topic=topic,
        )  # fmt: skip

    def _emit_relationship_nps(self, company: Company) -> None:
        rng = self.rng("rel_nps", company.company_id)
        contacts = [p for p in company.people if p.contact_id]
        quarter = HISTORY_START
        rate = self.scale.responses_per_account_year / 20
        while quarter < HORIZON:
            if company.paying_at(quarter + 45 * DAY):
                for person in contacts:
                    if rng.random() < min(0.9, 0.35 * rate):
                        sent = quarter + rng.randrange(90 * DAY)
                        if not company.paying_at(sent):
                            continue
                        role_effect = {"decision_maker": -0.2, "champion": 0.5,
                                       "admin": 0.0, "end_user": 0.1}[person.role]  # fmt: skip
                        latent = company.health(sent) + role_effect - 0.6 * company.friction
                        self._qualtrics_response("rel_nps", person, company, sent, latent, rng)
            quarter += 91 * DAY
        # Onboarding programme, thirty days into each paid period.
        for start, _end in company.paid_periods:
            for person in [p for p in contacts if p.role in ("admin", "champion")]:
                sent = start + 30 * DAY
                latent = company.health(sent) - 0.5 * company.friction
                key = "onboarding_ces" if rng.random() < 0.5 else "onboarding_txs"
                self._qualtrics_response(key, person, company, sent, latent, rng,
                                         response_probability=0.5)  # fmt: skip

    def _maybe_support_surveys(
        self, company: Company, requester: Person, ticket_id: int, solved_at: int,
        created: int, slow: float, health: float, rng: random.Random,
    ) -> None:  # fmt: skip
        del created
        if rng.random() < 0.35 * self.scale.responses_per_account_year / 20:
            key = "support_csat" if rng.random() < 0.6 else "support_ces"
            latent = 0.6 * health - 0.7 * min(slow, 3.0) + 0.5
            self._qualtrics_response(key, requester, company, solved_at + 2 * HOUR, latent, rng,
                                     ticket_id=ticket_id)  # fmt: skip

    def _maybe_sales_txs(
        self, company: Company, person: Person, opp_id: str, close: int, rng: random.Random
    ) -> None:
        if rng.random() < 0.5:
            latent = company.health(close) * 0.5 + 0.3
            self._qualtrics_response("sales_txs", person, company, close + DAY, latent, rng,
                                     opportunity_id=opp_id, response_probability=0.4)  # fmt: skip

    # -- Delighted (in-app) ------------------------------------------------------------
    def _emit_delighted(self, company: Company) -> None:
        rng = self.rng("delighted", company.company_id)
        users = [p for p in company.people if p.product_user_index is not None]
        if not users or company.workspace_at is None:
            return
        sample = min(0.9, 0.05 * self.scale.responses_per_account_year / 10)
        month = company.workspace_at + 20 * DAY
        while month < HORIZON:
            if company.workspace_live_at(month):
                for person in users:
                    if rng.random() >= sample:
                        continue
                    sent = month + rng.randrange(30 * DAY)
                    if sent >= HORIZON or rng.random() >= 0.4:
                        continue
                    self._delighted_response(company, person, sent, rng)
            month += 30 * DAY

    def _delighted_response(
        self, company: Company, person: Person, sent: int, rng: random.Random
    ) -> None:
        program = _pick(rng, [("NPS", 0.5), ("PSAT", 0.3), ("CSAT", 0.1), ("CES", 0.1)])[0]
        survey_type, lo, hi = {
            "NPS": ("nps", 0, 10), "PSAT": ("csat", 1, 5), "CSAT": ("csat", 1, 5),
            "CES": ("ces", 1, 7),
        }[program]  # fmt: skip
        latent = company.health(sent) - 0.4 * company.friction
        score = self._score(rng, latent, lo, hi)
        text, topic = (None, None)
        if rng.random() < 0.35:
            text, topic = names.comment_for(self._sentiment_of(score, lo, hi), rng)
        if person.person_id not in self._delighted_people:
            self._delighted_people[person.person_id] = str(7_000_000_000 + person.person_id)
        # A new version per response: the person's send/response stamps move with each
        # survey, and no version may be visible before the moment it describes.
        self.t_dl_people.append(
            id=self._delighted_people[person.person_id], name=f"{person.first} {person.last}",
            email=person.email, phone_number=None,
            created_at=self._delighted_people_created.setdefault(person.person_id, sent - HOUR),
            last_sent_at=sent, last_responded_at=sent, _valid_from=sent,
        )  # fmt: skip
        response_id = str(9_000_000_000 + self.next_id("delighted_response"))
        properties = {
            "Delighted Source": "In-app",
            "Survey Program": program,
            "Workspace ID": company.workspace_id if rng.random() < 0.75 else None,
            "Plan": company.plan,
            "Role": names.SF_ROLE_LABEL[person.role],
        }
        if program == "PSAT":
            properties["Feature"] = rng.choice(FEATURES)
        row = dict(
            id=response_id, person_id=self._delighted_people[person.person_id],
            survey_type=survey_type, score=score, comment=text,
            permalink=f"https://delighted.example/r/{response_id}", created_at=sent,
            updated_at=sent, person_properties=properties, tags=[], notes=[], _valid_from=sent,
        )  # fmt: skip
        self.t_dl_responses.append(**row)
        if rng.random() < 0.1:
            later = sent + rng.randrange(HOUR, 10 * DAY)
            if later < HORIZON:
                row.update(tags=["followed-up"], updated_at=later, _valid_from=later,
                           notes=[{"id": f"n{response_id}", "text": "Called the customer",
                                   "user_email": f"csm@{VENDOR_DOMAIN}", "created_at": later}])  # fmt: skip
                self.t_dl_responses.append(**row)
        self.t_gt_respondents.append(
            source="delighted", response_id=response_id, person_id=person.person_id,
            account_id=company.account_id, survey_type=program, score=score,
            recorded_at=sent, topic=topic,
        )  # fmt: skip

    # -- Amplitude (vectorised: ~10M events at medium) ---------------------------------
    def _generate_product_events(self) -> None:
        companies = [c for c in self.companies if c.workspace_id is not None]
        n_days = (HORIZON - HISTORY_START) // DAY
        day_starts = HISTORY_START + np.arange(n_days, dtype=np.int64) * DAY
        rng = np.random.default_rng([self.seed, 0xA3])
        chunks: list[tuple[np.ndarray, ...]] = []
        for company in companies:
            users = [p.product_user_index for p in company.people if p.product_user_index]
            if not users:
                continue
            live = np.array([company.workspace_live_at(int(d)) for d in day_starts[::7]])
            live = np.repeat(live, 7)[:n_days]
            if not live.any():
                continue
            decline = np.zeros(n_days)
            if company.decline_start is not None:
                progress = np.clip((day_starts - company.decline_start) / (90 * DAY), 0, 1)
                decline = company.decline_amount * progress
            health = company.base_health - decline
            active_share = np.clip(0.3 + 0.15 * health, 0.02, 0.8)
            paying = np.array([company.paying_at(int(d)) for d in day_starts[::7]])
            paying = np.repeat(paying, 7)[:n_days]
            active_share = np.where(paying, active_share, active_share * 0.3)
            weekday = ((day_starts // DAY) + 3) % 7 < 5  # 1970-01-01 was a Thursday
            active_share = np.where(weekday, active_share, active_share * 0.25)
            lam = np.where(live, len(users) * active_share * self.scale.events_per_user_day, 0)
            counts = rng.poisson(lam)
            total = int(counts.sum())
            if total == 0:
                continue
            day_index = np.repeat(np.arange(n_days), counts)
            user_pick = np.asarray(users, dtype=np.int64)[rng.integers(0, len(users), total)]
            seconds = rng.integers(0, DAY, total)
            chunks.append((
                np.full(total, company.company_id, dtype=np.int64), user_pick,
                day_starts[day_index] + seconds,
            ))  # fmt: skip
        if not chunks:
            self.con.execute("CREATE OR REPLACE TABLE amp_events (event_id BIGINT)")
            return
        company_ids = np.concatenate([c[0] for c in chunks])
        user_index = np.concatenate([c[1] for c in chunks])
        event_time = np.concatenate([c[2] for c in chunks])
        total = len(event_time)
        type_index = rng.choice(len(EVENT_TYPES), size=total, p=EVENT_TYPE_WEIGHTS)
        late = rng.random(total) < 0.03
        delay = np.where(late, rng.integers(2 * HOUR, 3 * DAY, total), rng.integers(1, 120, total))
        upload = event_time + delay
        keep = upload < HORIZON
        order = np.lexsort((user_index[keep], event_time[keep], upload[keep]))
        kept = int(keep.sum())
        frame = pd.DataFrame({
            "event_id": np.arange(1, kept + 1, dtype=np.int64),
            "company_id": company_ids[keep][order], "user_index": user_index[keep][order],
            "event_time": event_time[keep][order], "server_upload_time": upload[keep][order],
            "type_index": type_index[keep][order].astype(np.int64),
            "session_jitter": rng.integers(0, 3, kept),
        })  # fmt: skip
        event_types = ", ".join(f"'{t}'" for t in EVENT_TYPES)
        self.con.register("_events", frame)
        self.con.execute(f"""
            CREATE OR REPLACE TABLE amp_events AS
            SELECT
                e.event_id,
                e.company_id,
                u.user_id,
                u.email,
                u.role,
                u.workspace_id,
                ([{event_types}])[e.type_index + 1] AS event_type,
                make_timestamp(e.event_time * 1000000) AS event_time,
                make_timestamp(e.server_upload_time * 1000000) AS server_upload_time,
                (e.event_time // 1800) * 1000 + e.session_jitter AS session_id
            FROM _events AS e
            JOIN amp_users AS u USING (user_index)
            ORDER BY e.event_id
        """)  # fmt: skip
        self.con.unregister("_events")

    # -- ground truth ------------------------------------------------------------------
    def _write_ground_truth(self) -> None:
        owners = [(c, p) for c in self.companies for p in c.people]
        owners += [(None, p) for p in self.free_individuals]
        for company, person in owners:
            self.t_gt_people.append(
                person_id=person.person_id,
                company_id=company.company_id if company else None,
                account_id=company.account_id if company else None,
                email=person.email, role=person.role, is_free_mail=person.is_free_mail,
                zendesk_user_id=person.zendesk_user_id,
                product_user_id=(
                    f"u_{person.product_user_index}" if person.product_user_index else None
                ),
                contact_id=person.contact_id,
            )  # fmt: skip
        self.t_gt_people.flush()
        buffer = self.t_gt_periods
        for company in self.companies:
            for start, end in company.paid_periods:
                buffer.append(
                    company_id=company.company_id, account_id=company.account_id,
                    started_at=start, ended_at=end if end < HORIZON else None,
                    churned=end < HORIZON,
                )  # fmt: skip
        buffer.flush()
        self.t_gt_companies = self.table("gt_companies", {
            "company_id": "int", "account_id": "str", "name": "str", "domain": "str",
            "segment": "str", "region": "str", "plan": "str", "created_at": "ts",
            "workspace_id": "str", "workspace_created_at": "ts", "zendesk_organization_id": "int",
            "parent_company_id": "int", "friction": "float", "base_health": "float",
            "decline_start": "ts", "first_paid_at": "ts", "last_churned_at": "ts",
            "mrr_at_anchor": "float", "is_paying_at_anchor": "bool",
            "workspace_live_at_anchor": "bool",
        })  # fmt: skip
        for company in self.companies:
            churns = [end for _s, end in company.paid_periods if end < HORIZON]
            self.t_gt_companies.append(
                company_id=company.company_id, account_id=company.account_id,
                name=company.name, domain=company.domain, segment=company.segment,
                region=company.region, plan=company.plan, created_at=company.created_at,
                workspace_id=company.workspace_id, workspace_created_at=company.workspace_at,
                zendesk_organization_id=company.org_id,
                parent_company_id=company.parent_company_id, friction=company.friction,
                base_health=company.base_health, decline_start=company.decline_start,
                first_paid_at=company.paid_periods[0][0] if company.paid_periods else None,
                last_churned_at=max(churns) if churns else None,
                mrr_at_anchor=company.mrr_at(ANCHOR),
                is_paying_at_anchor=company.paying_at(ANCHOR),
                workspace_live_at_anchor=company.workspace_live_at(ANCHOR),
            )  # fmt: skip
        self.t_gt_companies.flush()


def generate(scale: Scale, seed: int, con: duckdb.DuckDBPyConnection) -> None:
    """Generate the world for `scale` and `seed` into `con` (tables listed in store.py)."""
    WorldGenerator(scale, seed, con).generate()
