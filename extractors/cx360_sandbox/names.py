"""Word lists for the synthetic company: names, name variants, comments."""

from __future__ import annotations

import random

STEM_HEADS = [
    "Mega",
    "Acme",
    "Globex",
    "Initech",
    "Umbra",
    "Vertex",
    "Nimbus",
    "Stark",
    "Wayne",
    "Hooli",
    "Bright",
    "North",
    "Blue",
    "Silver",
    "Iron",
    "Cedar",
    "Summit",
    "Harbor",
    "Quantum",
    "Pioneer",
    "Apex",
    "Nova",
    "Orbit",
    "Pixel",
    "Lumen",
    "Crest",
    "Atlas",
    "Zenith",
    "Falcon",
    "Cobalt",
    "Ember",
    "Granite",
    "Maple",
    "Oak",
    "Prism",
    "Radiant",
    "Sierra",
    "Tidal",
    "Vanta",
    "Willow",
    "Aero",
    "Beacon",
    "Circuit",
    "Delta",
    "Echo",
    "Fusion",
    "Helix",
    "Indigo",
    "Juniper",
    "Kite",
    "Lattice",
    "Meridian",
    "Nexus",
    "Onyx",
    "Polar",
    "Quartz",
    "Redwood",
    "Solar",
    "Terra",
    "Ultra",
]
STEM_TAILS = [
    "corp",
    "tech",
    "soft",
    "works",
    "wave",
    "point",
    "stream",
    "line",
    "forge",
    "logic",
    "field",
    "gate",
    "bridge",
    "path",
    "scale",
    "cloud",
    "data",
    "labs",
    "core",
    "link",
    "ware",
    "mind",
    "sys",
    "net",
    "grid",
    "hub",
    "shift",
    "spark",
    "stack",
    "base",
    "port",
    "view",
    "vista",
    "craft",
    "flow",
    "leaf",
    "ridge",
    "stone",
    "wing",
    "zone",
]
DESCRIPTORS = ["", "", "", " Analytics", " Logistics", " Health", " Energy", " Media", " Retail"]
LEGAL_SUFFIXES = {
    "NA": ["Inc.", "Inc", "Corp.", "Corporation", "LLC", ""],
    "EMEA": ["Ltd", "Limited", "GmbH", "AG", "S.A.", "B.V.", "plc", ""],
    "APAC": ["Pty Ltd", "Ltd", "Pte. Ltd.", "K.K.", ""],
    "LATAM": ["S.A.", "Ltda.", "S.A. de C.V.", ""],
}
REGION_TLDS = {
    "NA": [".com", ".com", ".io", ".ca"],
    "EMEA": [".de", ".co.uk", ".fr", ".nl", ".com", ".eu"],
    "APAC": [".com.au", ".sg", ".co.jp", ".com", ".in"],
    "LATAM": [".com.br", ".com.mx", ".com", ".cl"],
}
REGION_COUNTRIES = {
    "NA": ["United States", "United States", "Canada"],
    "EMEA": ["Germany", "United Kingdom", "France", "Netherlands", "Spain"],
    "APAC": ["Australia", "Singapore", "Japan", "India"],
    "LATAM": ["Brazil", "Mexico", "Chile"],
}
REGION_TIMEZONES = {
    "NA": ["America/New_York", "America/Chicago", "America/Los_Angeles", "America/Toronto"],
    "EMEA": ["Europe/Berlin", "Europe/London", "Europe/Paris", "Europe/Amsterdam"],
    "APAC": ["Australia/Sydney", "Asia/Singapore", "Asia/Tokyo", "Asia/Kolkata"],
    "LATAM": ["America/Sao_Paulo", "America/Mexico_City", "America/Santiago"],
}
INDUSTRIES = [
    "Technology",
    "Financial Services",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Education",
    "Media",
    "Logistics",
    "Energy",
    "Professional Services",
    "Hospitality",
    "Telecommunications",
]
FIRST_NAMES = [
    "Ava",
    "Liam",
    "Noah",
    "Emma",
    "Olivia",
    "Mia",
    "Lucas",
    "Sofia",
    "Mateo",
    "Amara",
    "Yuki",
    "Hannah",
    "Jonas",
    "Lea",
    "Priya",
    "Arjun",
    "Chen",
    "Wei",
    "Fatima",
    "Omar",
    "Isabella",
    "Diego",
    "Camila",
    "Elena",
    "Marco",
    "Chloe",
    "Ethan",
    "Grace",
    "Henry",
    "Ines",
    "Jack",
    "Kenji",
    "Lara",
    "Maya",
    "Nina",
    "Oscar",
    "Paula",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Victor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoe",
    "Aiden",
    "Bea",
    "Caleb",
    "Dara",
    "Eli",
    "Freya",
]
LAST_NAMES = [
    "Smith",
    "Garcia",
    "Müller",
    "Schmidt",
    "Tanaka",
    "Kim",
    "Patel",
    "Singh",
    "Nguyen",
    "Silva",
    "Rossi",
    "Dubois",
    "Johnson",
    "Brown",
    "Williams",
    "Jones",
    "Miller",
    "Davis",
    "Martínez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Sato",
    "O'Brien",
    "Van Dijk",
    "Novak",
    "Kowalski",
    "Ivanova",
    "Haddad",
    "Okafor",
    "Mensah",
]
FREE_MAIL = [
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "gmx.de",
    "proton.me",
    "web.de",
    "yahoo.co.uk",
    "qq.com",
]
ROLE_TITLES = {
    "decision_maker": [
        "VP Customer Success",
        "Chief Operating Officer",
        "Head of Operations",
        "CTO",
    ],
    "champion": ["Analytics Lead", "Operations Manager", "Director of Data", "Team Lead"],
    "admin": ["IT Administrator", "Systems Administrator", "Platform Owner"],
    "end_user": ["Analyst", "Account Manager", "Support Specialist", "Engineer", "Consultant"],
}
SF_ROLE_LABEL = {
    "decision_maker": "Decision Maker",
    "champion": "Champion",
    "admin": "Admin",
    "end_user": "End User",
}
TOPICS = {
    "onboarding": ("onboarding", "setup", "getting started"),
    "pricing": ("pricing", "invoice", "billing"),
    "support": ("support team", "response time", "the agent"),
    "performance": ("performance", "slow dashboards", "load times"),
    "reporting": ("reports", "exports", "dashboards"),
    "integrations": ("Salesforce integration", "API", "SSO"),
}
POSITIVE_TEMPLATES = [
    "Love the {t}, it saves our team hours every week.",
    "Great experience with the {t}. Keep it up!",
    "The {t} is excellent and easy to use.",
    "Really happy with {t}; quick and helpful.",
]
NEUTRAL_TEMPLATES = [
    "The {t} is okay but could be better.",
    "Mostly fine. The {t} needs some work.",
    "Decent product; {t} is average.",
]
NEGATIVE_TEMPLATES = [
    "Frustrated with the {t}. Terrible experience lately.",
    "The {t} is broken and nobody fixes it. Very disappointed.",
    "Considering alternatives because of the {t}. Awful.",
    "Slow and unreliable {t}; we waited days for an answer.",
]
TICKET_SUBJECTS = [
    "Cannot log in with SSO",
    "Dashboard is loading slowly",
    "Question about my invoice",
    "Export to CSV fails",
    "How do I add a new user?",
    "API returns 500 errors",
    "Salesforce sync stopped",
    "Feature request: scheduled reports",
    "Billing address change",
    "Report shows wrong totals",
    "Password reset not arriving",
    "Integration setup help",
]


def company_stems(count: int, rng: random.Random) -> list[str]:
    """Unique company stems such as 'Megacorp' or 'Brightwave Analytics'."""
    combos = [
        head + tail + desc for head in STEM_HEADS for tail in STEM_TAILS for desc in DESCRIPTORS
    ]
    rng.shuffle(combos)
    seen: set[str] = set()
    stems: list[str] = []
    for combo in combos:
        key = combo.lower()
        if key not in seen:
            seen.add(key)
            stems.append(combo)
        if len(stems) == count:
            return stems
    # Past the word lists' capacity a numeric qualifier keeps names unique.
    index = 0
    while len(stems) < count:
        index += 1
        stems.append(f"{combos[index % len(combos)]} {index // len(combos) + 2}")
    return stems


def name_variant(stem: str, legal: str, rng: random.Random) -> str:
    """How another system's users typed the same company: case, spacing and suffix drift."""
    head_tail = stem.split(" ")[0]
    choice = rng.randrange(6)
    if choice == 0:
        return f"{stem.upper()} {legal}".strip()
    if choice == 1:
        spaced = head_tail
        for index in range(1, len(head_tail)):
            if head_tail[index].isupper():
                break
        else:
            index = len(head_tail) // 2
        spaced = head_tail[:index] + " " + head_tail[index:].capitalize()
        return (spaced + stem[len(head_tail) :] + " Corporation").strip()
    if choice == 2:
        return f"{stem}, Inc."
    if choice == 3:
        return stem.lower()
    if choice == 4:
        return f"{stem} ({legal or 'HQ'})"
    return f"{stem} {legal}".strip() + " "


def comment_for(sentiment: str, rng: random.Random) -> tuple[str, str]:
    """A free-text comment and its true topic."""
    topic = rng.choice(list(TOPICS))
    phrase = rng.choice(TOPICS[topic])
    templates = {
        "positive": POSITIVE_TEMPLATES,
        "neutral": NEUTRAL_TEMPLATES,
        "negative": NEGATIVE_TEMPLATES,
    }[sentiment]
    return rng.choice(templates).format(t=phrase), topic
