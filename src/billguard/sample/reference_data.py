"""Fixed word lists and places from which the sample company's records are drawn.

Sales tax rates are combined state and local rates of the named city, rounded to what a
services contract would state. They are sample values, not a tax table to bill from.
"""

from __future__ import annotations

from decimal import Decimal

NAME_STEMS = (
    "Alder", "Amber", "Anchor", "Aster", "Beacon", "Birch", "Blue Harbor", "Boreal", "Brightwater",
    "Cedar", "Cobalt", "Copper", "Coral", "Crescent", "Delta", "Ember", "Evergreen", "Falcon",
    "Fjord", "Granite", "Greenfield", "Harbor", "Helix", "Highland", "Horizon", "Iris", "Juniper",
    "Keystone", "Lakeside", "Linden", "Lumen", "Maple", "Meridian", "Nordlicht", "Northwind",
    "Oakridge", "Orchid", "Pinnacle", "Polaris", "Quarry", "Redwood", "Riverbend", "Saffron",
    "Sequoia", "Silverline", "Sterling", "Summit", "Tidewater", "Timber", "Trillium", "Vantage",
    "Velvet", "Westbrook", "Willow", "Zenith",
)  # fmt: skip
NAME_TRADES = (
    "Analytics", "Apparel", "Bau", "Biotech", "Capital", "Chemicals", "Components", "Consulting",
    "Energy", "Engineering", "Foods", "Freight", "Health", "Hotels", "Instruments", "Insurance",
    "Labs", "Logistik", "Maschinenbau", "Media", "Medical", "Mobility", "Optics", "Packaging",
    "Pharma", "Retail", "Robotics", "Software", "Systems", "Textiles", "Travel", "Utilities",
)  # fmt: skip
# Legal forms per country, written as the companies write them.
LEGAL_FORMS = {
    "DE": ("GmbH", "AG", "GmbH & Co. KG"),
    "AT": ("GmbH", "AG"),
    "FR": ("SAS", "SARL", "SA"),
    "NL": ("B.V.", "N.V."),
    "BE": ("NV", "BV"),
    "IT": ("S.r.l.", "S.p.A."),
    "US": ("Inc.", "LLC", "Corp."),
}

# (city, first postcode, street names) per country; postcodes are drawn near the first one.
CITIES: dict[str, tuple[tuple[str, int, tuple[str, ...]], ...]] = {
    "DE": (
        ("Berlin", 10115, ("Friedrichstrasse", "Chausseestrasse", "Invalidenstrasse")),
        ("Hamburg", 20095, ("Moenckebergstrasse", "Spitalerstrasse", "Ballindamm")),
        ("Muenchen", 80331, ("Sendlinger Strasse", "Kaufingerstrasse", "Lindwurmstrasse")),
        ("Koeln", 50667, ("Hohe Strasse", "Breite Strasse", "Neumarkt")),
        ("Frankfurt am Main", 60311, ("Zeil", "Kaiserstrasse", "Mainzer Landstrasse")),
        ("Stuttgart", 70173, ("Koenigstrasse", "Marienstrasse", "Rotebuehlplatz")),
        ("Leipzig", 4109, ("Petersstrasse", "Grimmaische Strasse", "Nikolaistrasse")),
    ),
    "AT": (("Wien", 1010, ("Kaerntner Strasse", "Graben")), ("Graz", 8010, ("Herrengasse",))),
    "FR": (
        ("Paris", 75001, ("Rue de Rivoli", "Rue Saint-Honore")),
        ("Lyon", 69001, ("Rue de la Republique",)),
    ),
    "NL": (("Amsterdam", 1011, ("Damrak", "Kalverstraat")), ("Rotterdam", 3011, ("Coolsingel",))),
    "BE": (("Bruxelles", 1000, ("Rue Neuve", "Boulevard Anspach")), ("Antwerpen", 2000, ("Meir",))),
    "IT": (("Milano", 20121, ("Via Dante", "Corso Como")), ("Torino", 10121, ("Via Roma",))),
}

# US cities: (city, state, first ZIP code, street names, time zone, sales tax rate in percent).
US_CITIES: tuple[tuple[str, str, int, tuple[str, ...], str, Decimal], ...] = (
    ("New York", "NY", 10001, ("Broadway", "Madison Avenue"), "America/New_York", Decimal("8.875")),
    (
        "Austin",
        "TX",
        78701,
        ("Congress Avenue", "Lamar Boulevard"),
        "America/Chicago",
        Decimal("8.25"),
    ),
    (
        "Seattle",
        "WA",
        98101,
        ("Pike Street", "Pine Street"),
        "America/Los_Angeles",
        Decimal("10.35"),
    ),
    (
        "Chicago",
        "IL",
        60601,
        ("Michigan Avenue", "State Street"),
        "America/Chicago",
        Decimal("10.25"),
    ),
    (
        "Boston",
        "MA",
        2108,
        ("Tremont Street", "Boylston Street"),
        "America/New_York",
        Decimal("6.25"),
    ),
    ("Denver", "CO", 80202, ("Larimer Street", "Market Street"), "America/Denver", Decimal("8.81")),
    ("Newark", "NJ", 7102, ("Market Street", "Broad Street"), "America/New_York", Decimal("6.625")),
    (
        "Atlanta",
        "GA",
        30303,
        ("Peachtree Street", "Spring Street"),
        "America/New_York",
        Decimal("8.9"),
    ),
)

PERSON_NAMES = (
    "Anna Keller", "Ben Novak", "Carla Rossi", "David Chen", "Elif Yilmaz", "Felix Wagner",
    "Grace Okafor", "Hannah Schulz", "Ivan Petrov", "Julia Martin", "Karim Haddad", "Laura Costa",
    "Marek Wojcik", "Nina Berg", "Omar Farouk", "Paula Jansen", "Quentin Moreau", "Rosa Lindqvist",
    "Samuel Brooks", "Tanja Vogel", "Uma Patel", "Victor Dubois", "Wen Li", "Yara Haddad",
)  # fmt: skip

# Our consultants, who record the timesheets of time-and-materials lines.
CONSULTANTS = (
    "Lena Hoffmann", "Jonas Becker", "Miriam Schaefer", "Tobias Krause", "Sofia Marino",
    "Daniel Price", "Rachel Kim", "Marcus Reed", "Priya Nair", "Ethan Cole",
)  # fmt: skip

# Vendors: name, country, what we buy from them, and the expense account it posts to.
VENDORS = (
    ("Hetzner Rechenzentrum", "DE", "Hosting capacity", "5100"),
    ("Cloudwerk Infrastruktur", "DE", "Managed Kubernetes", "5100"),
    ("Datenfluss Freelancer Netzwerk", "DE", "Subcontracted developers", "5000"),
    ("Stackline Cloud", "US", "Cloud compute", "5100"),
    ("Brightdesk Staffing", "US", "Contract engineers", "5000"),
    ("Licensehub Software", "US", "Software licences", "6000"),
    ("Telemetry Partners", "NL", "Monitoring service", "5100"),
    ("Sicherheitspruefung Nord", "DE", "Penetration testing", "5000"),
    ("Atlas Translation Services", "FR", "Document translation", "5000"),
    ("Redline Print & Mail", "US", "Invoice printing and mailing", "5000"),
)

# English month names, fixed here because calendar.month_name follows the process locale.
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
