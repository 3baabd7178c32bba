#!/usr/bin/env python3
"""Generate the small synthetic sample data of this project (stdlib only, deterministic).

Run from the repository root:

    python data/sample/build.py               # rewrites the committed files next to this script
    python data/sample/build.py --out /tmp/x  # writes the same files under /tmp/x

Outputs (relative to the output folder):

* `ner_cot.jsonl` — 240 NER-CoT records over 8 invented domain datasets, each with a rule-written reasoning chain.
* `instructuie/<name>/{train,dev,test}.json` + `labels.json` for `sample-news`, `sample-tech` and `sample-food`.
* `corpus.txt` — about 200 KB of plain text for training a tiny byte-level BPE tokenizer.

Every sentence is composed from the templates and vocabularies below, which were written for this project. All
randomness comes from `random.Random` streams derived from `--seed`; nothing iterates over a set or depends on hash
order, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

DEFAULT_SEED = 20250611
HERE = Path(__file__).resolve().parent

# ======================================================================================================================
# Vocabularies (invented names; generic words)

FIRST = [
    "Ada",
    "Marcus",
    "Priya",
    "Tomás",
    "Elena",
    "Kwame",
    "Hiroshi",
    "Ingrid",
    "Rafael",
    "Amara",
    "Lukas",
    "Mei",
    "Oskar",
    "Fatima",
    "Daniel",
    "Sofia",
    "Nikolai",
    "Chloé",
    "Jonas",
    "Aisha",
    "Mateo",
    "Zoë",
    "Henrik",
    "Leila",
    "Samuel",
    "Ines",
    "Kofi",
    "Yara",
    "Victor",
    "Hannah",
    "Ravi",
    "Greta",
    "Diego",
    "Noor",
    "Emil",
    "Lucía",
    "Arjun",
    "Maren",
    "Felix",
    "Beatriz",
    "Joaquín",
    "Renée",
]
LAST = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Castellanos",
    "Haddad",
    "Brennan",
    "Novak",
    "Takeda",
    "Müller",
    "Ramírez",
    "Whitfield",
    "Osei",
    "Petrov",
    "Fournier",
    "Kowalski",
    "Andersen",
    "Nakamura",
    "Ferreira",
    "Holm",
    "Varga",
    "Quinn",
    "Achterberg",
    "Delacroix",
    "Sørensen",
    "Yilmaz",
    "Grünewald",
    "Abernathy",
    "Lindgren",
    "Oyelaran",
    "Rossi",
    "Sato",
    "Vance",
    "Whitaker",
    "Zielinski",
    "Núñez",
    "Ibáñez",
    "Halloran",
    "Mbatha",
    "Eriksen",
    "Carvalho",
]
INITIALS = list("ABCDEFGHJKLMNPRSTW")
STAGE_NAMES = [
    "Lumi Vale",
    "DJ Okapi",
    "Sasha Noor",
    "MC Ferrite",
    "Little Marigold",
    "Kid Lantern",
    "Oona Bright",
    "Bastien Roux",
    "Tiago Luz",
    "Señorita Cobalt",
    "Jax Meridian",
    "Big Mama Thornbury",
    "Élodie Sauvage",
]
ORGS = [
    "Northwind Labs",
    "Bluefin Analytics",
    "Kestrel Dynamics",
    "U.S. Forest Service",
    "Meridian Bank",
    "Orion Aerospace",
    "Greenleaf Foods",
    "Lumen Media Group",
    "Atlas Freight",
    "Copperline Telecom",
    "Redwood Health Trust",
    "Silverline Rail",
    "Nordic Wind AG",
    "Harbor & Finch",
    "Pinecrest Capital",
    "Société Lumière",
    "Ironbridge Partners",
    "Stonegate Insurance",
    "St. Clair Hospital",
    "U.S. Geological Survey",
    "Eastern Grain Cooperative",
    "Valmont City Council",
    "Continental Shipping Union",
    "Blackstone Mills",
]
TECH_ORGS = [
    "Cascade Software",
    "Quanta Devices",
    "Bitforge",
    "OpenHarbor Foundation",
    "Nimbus Cloud",
    "Tessellate AI",
    "Ferrite Systems",
    "Lattice Research",
    "Byteworks",
    "Polaris Mobile",
    "Vantage Robotics",
    "Hexagon Data Inc",
    "Kernelcraft",
    "Brightwave Semiconductors",
]
CITIES = [
    "Lisbon",
    "Oslo",
    "Nairobi",
    "São Paulo",
    "Zürich",
    "Kraków",
    "Málaga",
    "Osaka",
    "Toronto",
    "Melbourne",
    "Cairo",
    "Vancouver",
    "Reykjavík",
    "Montréal",
    "Bogotá",
    "Seoul",
    "Dublin",
    "Austin",
    "Hamburg",
    "Marrakesh",
    "Wellington",
    "Valparaíso",
    "Tallinn",
    "Porto",
    "St. Louis",
    "Kyoto",
    "Accra",
    "Lyon",
    "Ghent",
    "Halifax",
]
COUNTRIES = [
    "Portugal",
    "Norway",
    "Kenya",
    "Brazil",
    "Switzerland",
    "Poland",
    "Spain",
    "Japan",
    "Canada",
    "Australia",
    "Egypt",
    "Iceland",
    "Colombia",
    "South Korea",
    "Ireland",
    "Germany",
    "Morocco",
    "New Zealand",
    "Chile",
    "Estonia",
    "Ghana",
    "France",
    "Belgium",
    "Vietnam",
    "Peru",
    "Finland",
]
NATIONALITIES = [
    "Portuguese",
    "Norwegian",
    "Kenyan",
    "Brazilian",
    "Swiss",
    "Polish",
    "Spanish",
    "Japanese",
    "Canadian",
    "Australian",
    "Icelandic",
    "Chilean",
    "Ghanaian",
    "French",
    "German",
    "Irish",
    "Peruvian",
    "Finnish",
]
EVENTS = [
    "Harvest Festival",
    "Global Trade Forum",
    "North Sea Regatta",
    "Spring Book Fair",
    "Ocean Summit",
    "Festival of Lights",
    "Tech Futures Expo",
    "Winter Games",
    "World Water Congress",
    "Carnival of the South",
    "Millennium Peace Conference",
    "Great Northern Marathon",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
UNIVERSITIES = [
    "Northgate University",
    "Lakeshore Institute of Technology",
    "University of Eastbrook",
    "Halvard College",
    "Université de Valmont",
    "Kingsford University",
    "Aldermoor Institute",
    "St. Brigid's College",
    "Coastal State University",
    "Technische Hochschule Rendsburg",
    "Marlow Polytechnic",
]
ELEMENTS = [
    "helium",
    "lithium",
    "carbon",
    "nitrogen",
    "oxygen",
    "neon",
    "magnesium",
    "silicon",
    "argon",
    "titanium",
    "iron",
    "cobalt",
    "nickel",
    "copper",
    "zinc",
    "gallium",
    "palladium",
    "platinum",
    "iridium",
    "xenon",
    "tungsten",
]
COMPOUNDS = [
    "benzene",
    "ethanol",
    "glucose",
    "acetone",
    "methane",
    "ammonia",
    "sulfuric acid",
    "calcium carbonate",
    "hydrogen peroxide",
    "graphene oxide",
    "silica gel",
    "caffeine",
    "polyethylene",
    "NaCl",
    "H2O2",
    "CO2",
    "potassium nitrate",
    "formaldehyde",
]
DISCIPLINES = [
    "astrophysics",
    "organic chemistry",
    "condensed matter physics",
    "marine biology",
    "geochemistry",
    "number theory",
    "computational linguistics",
    "materials science",
    "quantum optics",
    "ecology",
    "seismology",
    "biochemistry",
    "glaciology",
]
AWARDS = [
    "Halvorsen Prize",
    "Meridian Medal",
    "Aurora Award for Physics",
    "Copley-Weiss Medal",
    "Golden Beaker Award",
    "Fennimore Fellowship",
    "Ostrander Prize in Chemistry",
    "Blue Comet Award",
]
BANDS = [
    "The Velvet Lanterns",
    "Static Orchard",
    "Paper Lions",
    "Sönic Bloom",
    "Midnight Ferry",
    "The Copper Owls",
    "Blue Lagoon Quartet",
    "Neon Harbor",
    "Wolves of Ember",
    "The Quiet Engines",
    "Saltwater Choir",
    "Echo & the Tides",
    "Los Hermanos Niebla",
    "Kite Parade",
]
SONGS = [
    "Paper Moons",
    "Northern Lights Again",
    "Slow Rivers",
    "Glass Heart",
    "Carry the Fire",
    "Satellite Summer",
    "Hold On, Marigold",
    "Ten Thousand Miles",
    "Café Nocturne",
    "Rust and Gold",
    "Electric Avenue Blues",
    "Don't Wake the Sea",
    "Lighthouse Keeper",
    "Sugar in the Rain",
    "Halfway to Tuesday",
]
ALBUMS = [
    "Harbor Lights",
    "Songs for a Drowned Moon",
    "Kaleidoscope Hours",
    "The Long Quiet",
    "Afterglow",
    "Ironwood",
    "Static & Silk",
    "Blue Period",
    "Year of the Fox",
    "Cartography",
    "Lowlands",
    "Museum of Small Things",
]
MUSIC_GENRES = [
    "jazz",
    "synth-pop",
    "bluegrass",
    "hip hop",
    "post-rock",
    "bossa nova",
    "drum and bass",
    "indie folk",
    "reggae",
    "baroque pop",
    "heavy metal",
    "Afrobeat",
    "shoegaze",
    "flamenco",
]
INSTRUMENTS = [
    "cello",
    "saxophone",
    "pedal steel guitar",
    "theremin",
    "double bass",
    "harpsichord",
    "tabla",
    "banjo",
    "Hammond organ",
    "violin",
    "accordion",
    "bass guitar",
    "marimba",
    "trumpet",
]
LANGS = [
    "Python",
    "Java",
    "C++",
    "C#",
    "Rust",
    "Haskell",
    "OCaml",
    "Julia",
    "Kotlin",
    "TypeScript",
    "Scala",
    "Erlang",
    "Fortran",
    "Objective-C",
    "F#",
    "Elixir",
    "Prolog",
    "Common Lisp",
    "JavaScript",
    "Zig",
]
ALGORITHMS = [
    "quicksort",
    "merge sort",
    "Dijkstra's algorithm",
    "gradient descent",
    "k-means clustering",
    "A* search",
    "Viterbi algorithm",
    "Bellman-Ford",
    "PageRank",
    "beam search",
    "backpropagation",
    "Monte Carlo tree search",
    "Kruskal's algorithm",
    "binary search",
    "simulated annealing",
    "RSA",
    "Huffman coding",
    "Fast Fourier Transform",
    "Floyd-Warshall",
    "LZ77",
]
PRODUCTS = [
    "Pixelbook Nova",
    "HeliosDB",
    "Quanta Phone 7",
    "Orbit Watch",
    "TensorSlate",
    "CloudVault 3.0",
    "Zephyr OS",
    "Nimbus Studio",
    "Kestrel X1",
    "Ferrite Router 2",
    "Lumen Glasses",
    "ByteBox Mini",
    "Driftwood Editor",
]
CONFERENCES = [
    "Northern Systems Symposium",
    "Open Code Summit",
    "Conference on Applied Algorithms",
    "Lattice ML Workshop",
    "Compilers Day 2022",
    "Pacific Data Forum",
]
DISEASES = [
    "type 2 diabetes",
    "Crohn's disease",
    "influenza",
    "malaria",
    "asthma",
    "Parkinson's disease",
    "COVID-19",
    "tuberculosis",
    "rheumatoid arthritis",
    "hepatitis B",
    "migraine",
    "cystic fibrosis",
    "non-small cell lung cancer",
    "Lyme disease",
    "psoriasis",
]
DRUGS = [
    "metformin",
    "ibuprofen",
    "acetylsalicylic acid",
    "cisplatin",
    "vitamin D",
    "insulin glargine",
    "amoxicillin",
    "dexamethasone",
    "paclitaxel",
    "lithium carbonate",
    "5-fluorouracil",
    "β-carotene",
    "omeprazole",
]
GENES = ["BRCA1", "TP53", "EGFR", "APOE", "IL-6", "HER2", "KRAS", "CFTR", "MTHFR", "TNF-α", "PD-L1", "BRAF"]
ANATOMY = [
    "liver",
    "left ventricle",
    "retina",
    "small intestine",
    "hippocampus",
    "bone marrow",
    "pancreas",
    "kidney",
    "lung tissue",
    "thyroid gland",
    "spinal cord",
    "skin",
]
ORGANISMS = [
    "E. coli",
    "S. aureus",
    "Mus musculus",
    "zebrafish",
    "Plasmodium falciparum",
    "baker's yeast",
    "C. elegans",
    "Drosophila melanogaster",
]
FILM_TITLES = [
    "The Glass Harbor",
    "Midnight Orchard",
    "Seven Winters",
    "The Last Lighthouse",
    "Paper Tigers of Ostend",
    "Quiet Thunder",
    "A House in Valparaíso",
    "Neon Saints",
    "The Cartographer's Daughter",
    "Iron Meadow",
    "Beneath the Salt",
    "Operation Bluebird",
    "Star Ferry",
    "Dust and Daisies",
    "The Ninth Passenger",
    "Señor Lobo",
    "Moonlight Over Kraków",
]
FILM_GENRES = [
    "comedy",
    "horror",
    "science fiction",
    "documentary",
    "romantic comedy",
    "thriller",
    "animated",
    "western",
    "musical",
    "film noir",
    "war drama",
    "mystery",
    "fantasy",
]
YEARS = ["1968", "1979", "1987", "1994", "1999", "2003", "2008", "2011", "2016", "2019", "2022"]
DECADES = ["1960s", "1970s", "1980s", "1990s", "2000s", "eighties", "nineties"]
CHARACTERS = [
    "Captain Mara Vance",
    "Detective Hollis",
    "Dr. Ostrow",
    "Agent Finch",
    "Queen Isolde",
    "the Ferryman",
    "Little Tomás",
    "Professor Quill",
    "Sergeant Ybarra",
    "Wren Calloway",
]
FILM_RATINGS = ["pg-13", "nc-17", "pg", "unrated"]
DISHES = [
    "pad thai",
    "ramen",
    "fish tacos",
    "crème brûlée",
    "jalapeño poppers",
    "paella",
    "butter chicken",
    "pho",
    "margherita pizza",
    "falafel wrap",
    "dim sum",
    "clam chowder",
    "bibimbap",
    "pierogi",
    "shakshuka",
    "croque monsieur",
    "açaí bowl",
    "fried chicken",
    "lamb shawarma",
    "mushroom risotto",
]
CUISINES = [
    "Thai",
    "Mexican",
    "Italian",
    "Ethiopian",
    "Korean",
    "Vietnamese",
    "Greek",
    "Peruvian",
    "Lebanese",
    "Indian",
    "Japanese",
    "French",
    "Cajun",
    "Sichuan",
    "Georgian",
]
RESTAURANTS = [
    "Golden Wok",
    "La Petite Ferme",
    "El Farolito Verde",
    "Blue Door Bistro",
    "Saffron House",
    "The Rusty Spoon",
    "Mama Rosa's",
    "Noodle Theory",
    "Café Olé",
    "Smoke & Barrel",
    "Ten Tables",
    "Harbor Oyster Bar",
    "Casa Núñez",
    "Lucky Dumpling",
]
FOOD_PLACES = [
    "downtown",
    "midtown",
    "harbor district",
    "old town",
    "elm street",
    "east side",
    "chinatown",
    "union square",
    "the airport",
    "riverside",
    "main street",
    "the university",
]
NEAR_ME = ["near me", "nearby", "close by", "within 5 miles", "in walking distance"]
PRICES = [
    "cheap",
    "inexpensive",
    "affordable",
    "expensive",
    "upscale",
    "high end",
    "moderately priced",
    "budget",
]
PRICE_PHRASES = ["under 20 dollars", "$15 or less", "less than 30 bucks", "around $40 a person", "under $25"]
FOOD_RATINGS = ["five star", "highly rated", "4 star", "top rated", "well reviewed", "michelin starred"]
HOURS = [
    "open late",
    "open now",
    "open on sunday",
    "open for breakfast",
    "open after midnight",
    "open 24 hours",
    "open before 7 am",
]
AMENITIES = [
    "outdoor seating",
    "free parking",
    "kids menu",
    "live music",
    "wheelchair access",
    "delivery",
    "wine list",
    "private rooms",
    "wifi",
    "a patio",
]
TEAMS = [
    "Riverside Falcons",
    "FC Nordhavn",
    "Atlético Sur",
    "Harbor City Hawks",
    "Red Valley Rovers",
    "Kingsport Mariners",
    "Eastbrook Eagles",
    "Borussia Talheim",
    "Coastal United",
    "Mountain Lions RFC",
    "Real Valmont",
    "Aalborg Vikings",
]
SPORTS = [
    "tennis",
    "rugby",
    "cycling",
    "basketball",
    "volleyball",
    "rowing",
    "badminton",
    "cross-country skiing",
    "water polo",
    "judo",
    "fencing",
    "sprint canoe",
]
TOURNAMENTS = [
    "Nordic Open",
    "Coastal Cup",
    "Grand Prix of Valmont",
    "Harbor Marathon",
    "Continental Championship",
    "Kingsport Classic",
    "Tri-Nations Trophy",
    "Autumn Invitational",
]
FILLERS = {
    "_num": ["two", "three", "four", "five", "six", "seven", "eight", "ten", "twelve", "fifteen", "twenty", "forty"],
    "_numd": ["12", "48", "150", "250", "1,200", "3,500", "640", "75", "90"],
    "_thing": [
        "the budget",
        "the new schedule",
        "the pension reform",
        "the housing plan",
        "the safety report",
        "the proposal",
        "the tax changes",
        "the road repairs",
        "the water supply",
        "the school closures",
    ],
    "_sthing": [
        "the measurement error",
        "the control group",
        "the cooling step",
        "the statistical method",
        "the sample size",
        "the calibration",
        "the raw data",
    ],
    "_adj": ["quiet", "strange", "long", "short", "noisy", "gentle", "restless", "bright"],
    "_score": ["1-0", "2-1", "3-1", "2-0", "4-2", "3-3", "0-0"],
}
FILLER_DESC = {
    "_num": "a number word",
    "_numd": "a plain number",
    "_thing": "a common noun phrase",
    "_sthing": "a common noun phrase",
    "_adj": "an ordinary adjective",
    "_score": "a match score",
}


def _person(rng: random.Random, dr: float = 0.1, prof: float = 0.0, mid: float = 0.1) -> str:
    f, last = rng.choice(FIRST), rng.choice(LAST)
    r = rng.random()
    if r < dr:
        return f"Dr. {f[0]}. {last}"
    if r < dr + prof:
        return f"Prof. {f} {last}"
    if r < dr + prof + mid:
        return f"{f} {rng.choice(INITIALS)}. {last}"
    return f"{f} {last}"


def _date(rng: random.Random) -> str:
    d, m, y = rng.randint(1, 28), rng.choice(MONTHS), rng.randint(1995, 2024)
    return f"{d} {m} {y}" if rng.random() < 0.5 else f"{m} {d}, {y}"


def _month(rng: random.Random) -> str:
    return f"{rng.choice(MONTHS)} {rng.randint(1995, 2024)}"


def _pick(values: list[str]):
    return lambda rng: rng.choice(values)


# slot name -> value generator
SLOTS = {
    "person": lambda rng: _person(rng),
    "scientist": lambda rng: _person(rng, dr=0.35, prof=0.15),
    "artist": lambda rng: rng.choice(STAGE_NAMES) if rng.random() < 0.5 else _person(rng, dr=0.0, mid=0.05),
    "actor": lambda rng: _person(rng, dr=0.0, mid=0.0),
    "director": lambda rng: _person(rng, dr=0.0, mid=0.05),
    "athlete": lambda rng: _person(rng, dr=0.0, mid=0.05),
    "org": _pick(ORGS),
    "techorg": _pick(TECH_ORGS),
    "city": _pick(CITIES),
    "country": _pick(COUNTRIES),
    "nationality": _pick(NATIONALITIES),
    "event": _pick(EVENTS),
    "date": _date,
    "month": _month,
    "university": _pick(UNIVERSITIES),
    "element": _pick(ELEMENTS),
    "compound": _pick(COMPOUNDS),
    "discipline": _pick(DISCIPLINES),
    "award": _pick(AWARDS),
    "band": _pick(BANDS),
    "song": _pick(SONGS),
    "album": _pick(ALBUMS),
    "genre": _pick(MUSIC_GENRES),
    "instrument": _pick(INSTRUMENTS),
    "lang": _pick(LANGS),
    "algo": _pick(ALGORITHMS),
    "product": _pick(PRODUCTS),
    "conf": _pick(CONFERENCES),
    "disease": _pick(DISEASES),
    "drug": _pick(DRUGS),
    "gene": _pick(GENES),
    "anatomy": _pick(ANATOMY),
    "organism": _pick(ORGANISMS),
    "title": _pick(FILM_TITLES),
    "mgenre": _pick(FILM_GENRES),
    "year": _pick(YEARS),
    "decade": _pick(DECADES),
    "character": _pick(CHARACTERS),
    "mrating": _pick(FILM_RATINGS),
    "dish": _pick(DISHES),
    "cuisine": _pick(CUISINES),
    "restaurant": _pick(RESTAURANTS),
    "place": _pick(FOOD_PLACES),
    "nearme": _pick(NEAR_ME),
    "price": _pick(PRICES),
    "priceq": _pick(PRICE_PHRASES),
    "frating": _pick(FOOD_RATINGS),
    "hours": _pick(HOURS),
    "amenity": _pick(AMENITIES),
    "team": _pick(TEAMS),
    "sport": _pick(SPORTS),
    "tournament": _pick(TOURNAMENTS),
}
for _k, _v in FILLERS.items():
    SLOTS[_k] = _pick(_v)

# ======================================================================================================================
# Domains: templates (a leading "~" marks a lower-case query: every filled value is lower-cased), entity-free
# templates, and the label of each slot. `{slot:1}` repeats the value bound to that slot earlier in the template.

DOMAINS: dict[str, dict] = {
    "sample-news": {
        "labels": {
            "person": "person",
            "org": "organization",
            "city": "location",
            "country": "location",
            "date": "date",
            "month": "date",
            "event": "event",
            "nationality": "nationality",
        },
        "templates": [
            "{person} was appointed chief executive of {org} on {date}.",
            "The company {org} said on {date} that it would open a new office in {city}.",
            "{org} and {org} signed a trade agreement in {city}, {country}.",
            "Speaking in {city}, {person} said the {event} had drawn record crowds.",
            "Why did {org} move its headquarters from {city} to {city}?",
            "{nationality} officials met {person} ahead of the {event} in {country}.",
            "{person:1} criticised {org} in a speech, and {person:1} repeated the criticism in {city}.",
            "Police in {city} said {_num} people were evacuated after a fire near the offices of {org}.",
            "Born in {city}, {person} joined {org} in {month} and later led its {country} division.",
            "The {event} will take place in {city} from {date}, organisers at {org} announced.",
            "Shares of {org} fell sharply after {person}, the company's finance chief, resigned.",
            'Asked about the vote, {person} told reporters: "We will keep working with {org}."',
            "Delegations from {country}, {country} and {country} arrived in {city} for the {event}.",
            "{person} of {org} met {person} of {org} in {city} on {date}.",
            "A {nationality} court fined {org} on {date} for breaching safety rules at its plant near {city}.",
            "Did {person} really leave {org} for a job in {country}?",
            "After {_num} months of talks, representatives of {org}, the transport ministry of {country} and "
            "several unions agreed in {city} on {date} to extend the rail contract, a deal that {person} called "
            "the most important of the decade.",
            "The mayor of {city}, {person}, opened the {event}.",
            "Thousands marched through {city} to protest against {org}.",
            "Voters in {country} will choose a new parliament on {date}, said {person}.",
            "{org} reported record profits in {month}.",
        ],
        "empty": [
            "Officials said the talks would resume after a short break.",
            "About {_num} people attended the meeting, which ended without an agreement.",
            "The committee postponed its decision on {_thing}.",
            "Is there any reason to expect {_thing} to change soon?",
            "Residents complained that {_thing} had been ignored for too long.",
            "Nobody was hurt, the spokesperson said, and {_num} buildings were checked for damage.",
            "Critics say {_thing} will hit small businesses hardest.",
        ],
    },
    "sample-science": {
        "labels": {
            "scientist": "scientist",
            "university": "university",
            "element": "chemical element",
            "compound": "chemical compound",
            "discipline": "academic discipline",
            "award": "award",
            "country": "country",
        },
        "templates": [
            "{scientist} of {university} won the {award} for work on {discipline}.",
            "Researchers at {university} showed that {element} atoms can be trapped inside {compound} cages.",
            "In {country}, {scientist} studies how {compound} breaks down in sea water.",
            "Which university hired {scientist} to lead its new {discipline} group?",
            "The {award} went to {scientist} and {scientist}, both from {university}.",
            "{element}, {element} and {element} were detected in the sample, according to {scientist}.",
            "{scientist} left {university} for a position in {country} after the grant ended.",
            "Is {compound} more stable than {compound} at room temperature?",
            "A team led by {scientist:1} measured the melting point of {element} under pressure, and "
            "{scientist:1} says the result surprised everyone.",
            "{discipline} has changed a lot since {scientist} first described the effect.",
            "The lab in {country} mixes {compound} with {element} to make cheaper batteries.",
            "Funded by {university} and working with colleagues in {country} and {country}, {scientist} spent "
            "{_num} years refining a method that turns {compound} into {compound} using {element} as a catalyst, "
            "work that later earned the {award}.",
            "{university} opened a new institute for {discipline}.",
            "Why does {element} glow when heated with {compound}?",
            "The {award} is the highest honour in {discipline}.",
        ],
        "empty": [
            "The experiment was repeated {_num} times with the same result.",
            "Why do some samples change colour when heated?",
            "Reviewers asked for more data on {_sthing} before publication.",
            "The new microscope can resolve details about {_num} times smaller than before.",
            "A second team could not reproduce {_sthing}.",
            "Most of the funding went to {_sthing} and new equipment.",
        ],
    },
    "sample-music": {
        "labels": {
            "artist": "musical artist",
            "band": "band",
            "song": "song",
            "album": "album",
            "genre": "music genre",
            "instrument": "musical instrument",
            "country": "country",
        },
        "templates": [
            "{band} released the album {album} in {country}.",
            '{artist} played the {instrument} on "{song}", the first single from {album}.',
            'Who wrote the song "{song}"?',
            "The {genre} band {band} toured {country} with {artist}.",
            "{artist} mixes {genre} and {genre} on the new record {album}.",
            "I keep listening to {song:1} by {band}; {song:1} is still my favourite.",
            "After leaving {band}, {artist} switched from the {instrument} to the {instrument}.",
            "Is {album} a {genre} album or not?",
            "The festival line-up includes {band}, {band}, {artist} and {band}.",
            "{song} topped the charts in {country} for {_num} weeks.",
            "Recorded over {_num} weeks in a farmhouse in {country}, {album} finds {band} trading the loud {genre} "
            "of their early records for quiet arrangements built around {instrument} and {instrument}, with "
            '{artist} singing on the closing track "{song}".',
            'Their cover of "{song}" features a {instrument} solo by {artist}.',
            "{band} ended the concert with {song}.",
            "Which {genre} albums did {artist} record in {country}?",
            "The title track of {album} was written by {artist}.",
        ],
        "empty": [
            "The concert was moved indoors because of the rain.",
            "Tickets sold out in {_num} minutes.",
            "Does anyone know why the second set was so short?",
            "The crowd sang along to every chorus.",
            "Critics called the {_adj} record a brave change of direction.",
            "The drummer counted in and the {_adj} intro began.",
        ],
    },
    "sample-tech": {
        "labels": {
            "lang": "programming language",
            "algo": "algorithm",
            "product": "product",
            "techorg": "organization",
            "org": "organization",
            "person": "person",
            "conf": "conference",
        },
        "templates": [
            "{person} implemented {algo} in {lang} for the {product} firmware.",
            "The company {techorg} rewrote {product} from {lang} in {lang}.",
            "How fast is {algo} compared to {algo} on sorted input?",
            "{lang}, {lang} and {lang} are the main languages used at {techorg}.",
            "At the {conf}, {person} of {techorg} showed that {algo} scales to billions of edges.",
            "{product} now ships with a {lang} SDK.",
            "Is {lang} a good first language for learning {algo}?",
            "{person} wrote the first version of {product:1} in {lang}, and {product:1} is still maintained by "
            "{techorg}.",
            "We replaced {algo} with {algo} and the build got {_num} times faster.",
            "{techorg} acquired {org} to strengthen {product}.",
            "During a talk at the {conf}, {person}, who leads the compiler team at {techorg}, explained why the new "
            "{product} scheduler, first prototyped in {lang} and later ported to {lang}, relies on {algo} rather "
            "than {algo} when the queue grows beyond {_numd} items.",
            "Why does my {lang} code crash when calling the {product} API?",
            "{algo} was taught by {person} using {lang} notebooks.",
            "The startup {techorg} was founded by {person} and {person}.",
            "Benchmarks of {product} were presented at the {conf}.",
            "Can {algo} be written in {lang}?",
        ],
        "empty": [
            "The build failed again after the last merge.",
            "Can someone explain why the tests are flaky on {_num} of the machines?",
            "We moved the cache to a separate server to cut latency.",
            "The new release fixes {_numd} bugs and adds a dark mode.",
            "Please restart the service before running the migration.",
            "Memory use dropped by {_numd} megabytes after the refactor.",
            "Why does the installer hang at {_numd} percent?",
        ],
    },
    "sample-biomed": {
        "labels": {
            "disease": "disease",
            "drug": "chemical",
            "gene": "gene",
            "anatomy": "anatomy",
            "organism": "organism",
        },
        "templates": [
            "Patients with {disease} who received {drug} showed lower {gene} expression in the {anatomy}.",
            "Mutations in {gene} are linked to {disease}.",
            "Does {drug} reduce the risk of {disease} in adults?",
            "{gene} knockout in {organism} caused damage to the {anatomy}.",
            "{organism} strains resistant to {drug} were isolated from {_num} patients.",
            "The trial compared {drug:1} with {drug} in people with {disease}, and {drug:1} was better tolerated.",
            "Inflammation of the {anatomy} is a common sign of {disease}.",
            "{gene}, {gene} and {gene} were upregulated after treatment with {drug}.",
            "In {organism}, loss of {gene} leads to a condition resembling human {disease}.",
            "In a cohort of {_numd} adults with long-standing {disease}, daily {drug} given for {_num} months "
            "lowered markers of damage in the {anatomy} and the {anatomy}, an effect the authors tied to reduced "
            "{gene} activity, although results in {organism} models had been mixed.",
            "The patient was later diagnosed with {disease}.",
            "Which genes besides {gene} are involved in {disease}?",
            "{drug} levels in the {anatomy} peaked after {_num} hours.",
            "High doses of {drug} were toxic to {organism}.",
        ],
        "empty": [
            "Samples were stored at low temperature until analysis.",
            "Follow-up visits took place every {_num} weeks.",
            "Why did so many participants drop out of the study?",
            "The authors call for larger trials before any change in practice.",
            "No serious side effects were reported in the {_num} groups.",
            "Blood was drawn from {_numd} volunteers after an overnight fast.",
        ],
    },
    "sample-movies": {
        "labels": {
            "actor": "actor",
            "director": "director",
            "title": "title",
            "mgenre": "genre",
            "year": "year",
            "decade": "year",
            "character": "character",
            "mrating": "rating",
        },
        "templates": [
            "~show me {mgenre} movies from {year}",
            "~who directed {title}",
            "~find a {mrating} {mgenre} film starring {actor}",
            "~what {mgenre} movies did {director} make in the {decade}",
            "~did {actor} play {character} in {title}",
            "~list movies with {actor} and {actor}",
            "~which movie has a character called {character}",
            "~{title} trailer",
            "~i loved {title:1}, is there a sequel to {title:1}",
            "~{mgenre} movies directed by {director} with {actor}",
            "~is {title} rated {mrating}",
            "~best {mgenre} of {year}",
            "In {title}, {actor} plays {character}, a retired smuggler hiding on a small island.",
            "{director} cast {actor} as {character} in the {year} {mgenre} film {title}.",
            "Was {title} really directed by {director}?",
            "~movies like {title} with {actor}",
            "~{actor} {mgenre} from the {decade}",
        ],
        "empty": [
            "~what time does the late show start",
            "~how long is the line at the ticket counter",
            "~can you recommend something to watch with {_num} friends",
            "The projector broke halfway through the screening.",
            "~how much are tickets for {_num} adults",
            "~is the cinema on the corner still open",
        ],
    },
    "sample-food": {
        "labels": {
            "dish": "dish",
            "cuisine": "cuisine",
            "place": "location",
            "nearme": "location",
            "city": "location",
            "restaurant": "restaurant name",
            "price": "price",
            "priceq": "price",
            "frating": "rating",
            "hours": "hours",
            "amenity": "amenity",
        },
        "templates": [
            "~{price} {cuisine} place near {place}",
            "~where can i get {dish} {nearme}",
            "~is {restaurant} {hours}",
            "~find a {frating} {cuisine} restaurant with {amenity}",
            "~i want {dish} for {priceq}",
            "~does {restaurant} have {amenity}",
            "~any {cuisine} places in {place} that serve {dish}",
            "~{restaurant} or {restaurant}, which one has better {dish}",
            "~{dish} {nearme}",
            "~looking for a {price} spot with {amenity} and good {dish}",
            "~i had {dish:1} at {restaurant} last night, best {dish:1} in town",
            "{restaurant} in {city} serves the best {dish} I have ever had.",
            "Is {restaurant} a {cuisine} restaurant or a bakery?",
            "~{frating} {cuisine} {hours} {nearme}",
            "~what are the hours for {restaurant} on {place}",
            "~i need a {price} place for {dish} that is {hours}",
        ],
        "empty": [
            "~i am hungry what do you suggest",
            "~can you book a table for {_num}",
            "~how long is the wait usually",
            "The kitchen closes early on holidays.",
            "~do i need a reservation for {_num} people",
            "~is tipping expected",
        ],
    },
    "sample-sports": {
        "labels": {
            "athlete": "athlete",
            "team": "team",
            "sport": "sport",
            "tournament": "tournament",
            "city": "location",
            "country": "location",
            "date": "date",
            "month": "date",
        },
        "templates": [
            "{athlete} scored twice as {team} beat {team} {_score} in {city}.",
            "{athlete} won the {tournament} on {date}.",
            "Who won the {sport} final at the {tournament}?",
            "{team} signed {athlete} from {team} for an undisclosed fee.",
            "The {tournament} will be held in {city}, {country}, organisers confirmed.",
            "{athlete:1} of {country} took gold in {sport}, and {athlete:1} also set a national record.",
            "Is {athlete} fit to play for {team} on {date}?",
            "{sport} fans in {city} queued for hours to see {athlete}.",
            "{team}, {team} and {team} are level on points after {_num} rounds.",
            "Having missed most of the season with a knee injury, {athlete} returned for {team} on {date} and "
            "scored the winner against {team}, a result that lifts the club into the qualifying places for the "
            "{tournament} and sends {_num} thousand travelling fans home happy.",
            "The {sport} world championships start in {country} on {date}.",
            "{athlete} retired after winning the {tournament}.",
            "Which team does {athlete} play for?",
            "{athlete} joined {team} in {month} after a long dispute with {team}.",
            "{athlete} and {athlete} will meet in the {sport} semi-final in {city}.",
        ],
        "empty": [
            "The match was delayed by heavy rain.",
            "Both coaches praised the referee after the game.",
            "How many substitutes can a team use?",
            "The stadium holds about {_num} thousand spectators.",
            "Training was cancelled because the pitch was frozen.",
            "The final score was {_score} after extra time.",
        ],
    },
}

# Types of each NER-CoT dataset (schema candidates), derived from the label maps in first-seen order.
for _d in DOMAINS.values():
    _d["types"] = list(dict.fromkeys(_d["labels"].values()))

# InstructUIE datasets: which domain's templates they reuse and how slots map to their (smaller) label sets.
# A slot mapped to None is written but not annotated (the dataset has no such type).
INSTRUCTUIE = {
    "sample-news": {
        "domain": "sample-news",
        "labels_file": ["person", "organization", "location", "else"],
        "labels": {
            "person": "person",
            "org": "organization",
            "city": "location",
            "country": "location",
            "event": "else",
            "nationality": "else",
            "date": None,
            "month": None,
        },
    },
    "sample-tech": {
        "domain": "sample-tech",
        "labels_file": ["programming language", "algorithm", "product", "organization", "person"],
        "labels": {
            "lang": "programming language",
            "algo": "algorithm",
            "product": "product",
            "techorg": "organization",
            "org": "organization",
            "person": "person",
            "conf": None,
        },
    },
    # Written with MIT-restaurant style capitalised type names; the project's readers normalise them.
    "sample-food": {
        "domain": "sample-food",
        "labels_file": ["Dish", "Cuisine", "Location", "Price", "Restaurant Name"],
        "labels": {
            "dish": "Dish",
            "cuisine": "Cuisine",
            "place": "Location",
            "nearme": "Location",
            "city": "Location",
            "restaurant": "Restaurant Name",
            "price": "Price",
            "priceq": "Price",
            "frating": None,
            "hours": None,
            "amenity": None,
        },
    },
}
SPLIT_SIZES = {"train": 60, "dev": 20, "test": 30}
SPLIT_EMPTY = {"train": 6, "dev": 2, "test": 3}
NER_COT_PER_DOMAIN = 30
NER_COT_EMPTY = [4, 4, 3, 4, 3, 4, 4, 3]  # per domain, in DOMAINS order: 29 of 240 (12%)

# ======================================================================================================================
# Template filling

_SLOT_RE = re.compile(r"\{(_?[a-z]+)(?::(\d))?\}")
_WORD_RE = re.compile(r"[\w'’*+#.-]+")
_WEAK_CUES = {"and", "or", "a", "an", "the"}


def parse_template(tpl: str) -> tuple[bool, list]:
    """A template as (lower, parts): parts alternate literal strings and (slot, bind) tuples."""
    lower = tpl.startswith("~")
    if lower:
        tpl = tpl[1:]
    parts: list = []
    pos = 0
    for m in _SLOT_RE.finditer(tpl):
        parts.append(tpl[pos : m.start()])
        if m.group(1) not in SLOTS:
            raise KeyError(f"unknown slot {m.group(1)!r} in template {tpl!r}")
        parts.append((m.group(1), m.group(2)))
        pos = m.end()
    parts.append(tpl[pos:])
    return lower, parts


def _cue_words(literal: str, side: str) -> str:
    """Up to three words of template text next to a slot, within the same clause."""
    if side == "before":
        literal = re.split(r"[,;:\"]", literal)[-1]
    else:
        literal = re.split(r"[,;:\"]", literal)[0]
    words = [w.strip(".?!") for w in _WORD_RE.findall(literal)]
    words = [w for w in words if w]
    words = words[-3:] if side == "before" else words[:3]
    if not words or all(w.lower() in _WEAK_CUES for w in words):
        return ""
    return " ".join(words)


def word_occurrences(sentence: str, text: str) -> list[int]:
    """Start offsets where `text` occurs in `sentence` not glued to letters or digits on either side."""
    out, i = [], sentence.find(text)
    while i != -1:
        j = i + len(text)
        if (i == 0 or not sentence[i - 1].isalnum()) and (j == len(sentence) or not sentence[j].isalnum()):
            out.append(i)
        i = sentence.find(text, i + 1)
    return out


def fill(rng: random.Random, tpl: str, labels: dict[str, str | None], tries: int = 50) -> dict | None:
    """Fill a template. Returns {sentence, spans, fillers} or None if no clean filling was found in `tries`."""
    lower, parts = parse_template(tpl)
    for _ in range(tries):
        bound: dict[str, str] = {}
        used: list[str] = []
        pieces: list[str] = []
        spans: list[dict] = []
        fillers: list[tuple[str, str]] = []
        pos = 0
        ok = True
        for k, part in enumerate(parts):
            if isinstance(part, str):
                pieces.append(part)
                pos += len(part)
                continue
            slot, bind = part
            if bind is not None and bind in bound:
                value = bound[bind]
            else:
                for _attempt in range(20):
                    value = SLOTS[slot](rng)
                    if lower:
                        value = value.lower()
                    if value not in used:
                        break
                else:
                    ok = False
                    break
                if pos == 0 and not lower and "a" <= value[0] <= "z":
                    value = value[0].upper() + value[1:]
                used.append(value)
                if bind is not None:
                    bound[bind] = value
            prev = pieces[-1] if pieces else ""
            if (prev.endswith(" a ") or prev in ("a ", "A ")) and value[0].lower() in "aeiou":
                pieces[-1] = prev = prev[:-1] + "n "  # "a unrated film" -> "an unrated film"
                pos += 1
            label = None if slot.startswith("_") else labels.get(slot)
            if slot.startswith("_"):
                fillers.append((slot, value))
            elif label is not None:
                spans.append(
                    {
                        "text": value,
                        "label": label,
                        "start": pos,
                        "end": pos + len(value),
                        "before": "" if k == 1 and len(parts[0].split()) < 2 else _cue_words(parts[k - 1], "before"),
                        "after": _cue_words(parts[k + 1], "after"),
                        "between_prev": prev,
                    }
                )
            pieces.append(value)
            pos += len(value)
        if not ok:
            continue
        sentence = "".join(pieces)
        if _clean(sentence, spans, used):
            return {"sentence": sentence, "spans": spans, "fillers": fillers}
    return None


def _clean(sentence: str, spans: list[dict], used: list[str]) -> bool:
    """No entity text occurs outside its annotated spans and no text carries two labels."""
    label_of: dict[str, str] = {}
    for s in spans:
        if label_of.setdefault(s["text"], s["label"]) != s["label"]:
            return False
    for text in label_of:
        starts = [s["start"] for s in spans if s["text"] == text]
        if word_occurrences(sentence, text) != starts:
            return False
    # an unannotated value must not contain, or sit inside, an annotated one
    for v in used:
        if v not in label_of and any(v in t or t in v for t in label_of):
            return False
    return True


# ======================================================================================================================
# Reasoning chains (cot), written by rules

DESC = {
    "person": ["a personal name", "the name of a person", "a first name and surname"],
    "organization": ["the name of a company or institution", "an organization's name", "a named body"],
    "location": ["a place name", "a geographic name", "the name of a place"],
    "date": ["a calendar date", "a point in time", "a specific date"],
    "event": ["a named event", "the name of an event"],
    "nationality": ["a nationality adjective", "a word for a nationality"],
    "scientist": ["a researcher's name", "a person doing research", "the name of a scientist"],
    "university": ["the name of a university or college", "an academic institution"],
    "chemical element": ["a chemical element", "an element of the periodic table"],
    "chemical compound": ["a compound, not a single element", "a chemical compound"],
    "academic discipline": ["a field of study", "a research discipline"],
    "award": ["the name of a prize", "an award title"],
    "country": ["a country name", "the name of a country"],
    "musical artist": ["a performer's name", "a solo artist"],
    "band": ["a group name", "the name of a band"],
    "song": ["a song title", "the title of a single track"],
    "album": ["an album title", "the title of a record"],
    "music genre": ["a style of music", "a music genre"],
    "musical instrument": ["an instrument", "something a musician plays"],
    "programming language": ["a programming language", "a language for writing code"],
    "algorithm": ["a named method or procedure", "an algorithm"],
    "product": ["a product name", "a named device or piece of software"],
    "conference": ["the name of a meeting or conference", "a named event for researchers"],
    "disease": ["a disease or condition", "an illness"],
    "chemical": ["a drug or chemical substance", "a compound given as treatment"],
    "gene": ["a gene or protein symbol", "a gene name"],
    "anatomy": ["a body part or tissue", "an anatomical structure"],
    "organism": ["a species or strain", "an organism name"],
    "actor": ["a performer in the film", "the name of an actor"],
    "director": ["the person behind the camera", "a filmmaker's name"],
    "title": ["a film title", "the name of a movie"],
    "genre": ["a film genre", "a kind of movie"],
    "year": ["a year or period", "a time reference for the release"],
    "character": ["a role in the story", "a character's name"],
    "rating": ["an age rating", "a certificate such as pg"],
    "dish": ["a dish", "something on the menu"],
    "cuisine": ["a cuisine", "a style of cooking"],
    "price": ["a price constraint", "how much it should cost"],
    "restaurant name": ["a restaurant's name", "the name of a place to eat"],
    "hours": ["an opening-hours constraint", "when the place should be open"],
    "amenity": ["a facility or feature of the place", "an amenity"],
    "athlete": ["an athlete's name", "the name of a player"],
    "team": ["a team name", "the name of a club"],
    "sport": ["a sport", "a kind of competition"],
    "tournament": ["a named competition", "a tournament name"],
}
DESC_OVERRIDE = {
    ("sample-food", "rating"): ["a quality rating", "how well reviewed it is"],
    ("sample-food", "location"): ["where the user wants to eat", "a place constraint"],
}

RESTATE = [
    "The types to find are {T}.",
    "I am asked for {T}.",
    "Target types: {T}.",
    "The schema lists {T}, so I look for those.",
    "I need mentions of {T} in this sentence.",
    "Entity types to check: {T}.",
]
CLAUSE_BEFORE = [
    '"{x}" follows "{c}" and is {d}, so I tag it {L}',
    'after "{c}" comes "{x}", {d}, which fits {L}',
    '"{x}", right after "{c}", is {d}, hence {L}',
    'the words "{c}" introduce "{x}", {d}, so it goes under {L}',
]
CLAUSE_AFTER = [
    '"{x}" comes before "{c}" and is {d}, so I tag it {L}',
    '"{x}" is followed by "{c}"; it is {d}, so it is {L}',
    'the span "{x}" precedes "{c}" and reads as {d}, hence {L}',
]
CLAUSE_BARE = [
    '"{x}" is {d}, so I tag it {L}',
    '"{x}" reads as {d}, which fits {L}',
]
CLAUSE_LIST = [
    '{xs} form a list after "{c}", each {d}, so all are {L}',
    'the list {xs} after "{c}" holds {L} mentions, each {d}',
]
CLAUSE_LIST_BARE = [
    "{xs} are listed together, each {d}, so all are {L}",
    "the list {xs} holds {L} mentions, each {d}",
]
CLAUSE_MEDIUM = ['"{x}" after "{c}" is {L}', '"{x}" (after "{c}") is {L}', 'after "{c}", "{x}" is {L}']
CLAUSE_COMPACT = ['"{x}" is {L}', '"{x}" -> {L}', '"{x}" counts as {L}']
REPEAT_NOTE = [
    " (it occurs twice, with the same type both times)",
    "; it appears again later in the same role",
    ", and its second occurrence is the same entity",
]
FILLER_CLAUSE = [
    '"{f}" is only {fd}, so I skip it',
    '"{f}" is just {fd} and not an entity',
]
ABSENT_ONE = [
    "There is no {t} in the sentence.",
    "Nothing here counts as {t}.",
    "No span fits {t}.",
    "The sentence has no {t} mention.",
]
ABSENT_MANY = [
    "No span fits {ts_or}.",
    "{ts_and} have no mention.",
    "The sentence contains nothing for {ts_or}.",
    "I find no {ts_or} mentions.",
]
ALL_COVERED = ["Every listed type is covered.", "Each target type has a mention."]
CONCLUDE = [
    "So the answer has {n} {ent}.",
    "Conclusion: {n} {ent} to extract.",
    "That gives {n} {ent} in total.",
    "Final count: {n} {ent}.",
]
EMPTY_READ = [
    "Reading it word by word, I find no proper names, titles or named items.",
    "The words are all generic; nothing names a specific {t0}.",
    "It is an ordinary statement without any named {t0} or similar item.",
    "No word in it refers to a particular named thing.",
]
EMPTY_QUERY_READ = [
    "The query is generic and names no specific {t0} or other target.",
    "This request has no concrete names or constraints that match a type.",
]
EMPTY_ABSENT = [
    "So none of {ts_or} appears.",
    "Hence {ts_and} all have no mention.",
    "Therefore no span matches {ts_or}.",
]
EMPTY_CONCLUDE = [
    "Nothing to extract, so the answer is empty.",
    "The answer is an empty entity list.",
    "Conclusion: no entities.",
]


def join_and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def join_or(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _cap(s: str) -> str:
    return s[0].upper() + s[1:] if s and "a" <= s[0] <= "z" else s


def _desc(rng: random.Random, dataset: str, label: str) -> str:
    return rng.choice(DESC_OVERRIDE.get((dataset, label), DESC.get(label, [f"a {label}"])))


def _groups(spans: list[dict]) -> list[dict]:
    """Merge repeated mentions (first occurrence wins) and `A, B and C` lists of same-typed adjacent mentions."""
    groups: list[dict] = []
    seen: list[str] = []
    for s in spans:
        if s["text"] in seen:
            for g in groups:
                if s["text"] in g["texts"]:
                    g["repeat"] = True
            continue
        seen.append(s["text"])
        prev = groups[-1] if groups else None
        joint = s["between_prev"].strip(" ,")
        if (
            prev is not None
            and prev["label"] == s["label"]
            and joint in ("", "and", "or")
            and prev["end"] + len(s["between_prev"]) == s["start"]
        ):
            prev["texts"].append(s["text"])
            prev["members"].append(s)
            prev["end"] = s["end"]
            prev["joined"] = prev["joined"] or joint in ("and", "or")
            continue
        groups.append(
            {
                "texts": [s["text"]],
                "members": [s],
                "label": s["label"],
                "before": s["before"],
                "after": s["after"],
                "end": s["end"],
                "repeat": False,
                "joined": False,
            }
        )
    out: list[dict] = []
    for g in groups:  # "in Toronto, Kenya" is not a list: split it back into single mentions
        if len(g["texts"]) > 1 and not g["joined"]:
            for m in g["members"]:
                out.append(
                    {
                        "texts": [m["text"]],
                        "label": m["label"],
                        "before": m["before"],
                        "after": m["after"],
                        "repeat": False,
                    }
                )
        else:
            out.append(g)
    return out


def _clause(rng: random.Random, dataset: str, g: dict, level: int) -> str:
    """One walk-through clause; level 0 is the full form, 1 keeps the cue, 2 is the bare type decision."""
    L = g["label"]
    if level == 1 and g["before"] and len(g["texts"]) == 1:
        out = rng.choice(CLAUSE_MEDIUM).format(x=g["texts"][0], c=g["before"], L=L)
        return out + (rng.choice(REPEAT_NOTE) if g["repeat"] else "")
    if level >= 1:
        return "; ".join(rng.choice(CLAUSE_COMPACT).format(x=x, L=L) for x in g["texts"])
    d = _desc(rng, dataset, L)
    if len(g["texts"]) > 1:
        xs = join_and([f'"{x}"' for x in g["texts"]])
        if g["before"]:
            out = rng.choice(CLAUSE_LIST).format(xs=xs, c=g["before"], d=d, L=L)
        else:
            out = rng.choice(CLAUSE_LIST_BARE).format(xs=xs, d=d, L=L)
    elif g["before"] and (not g["after"] or rng.random() < 0.7):
        out = rng.choice(CLAUSE_BEFORE).format(x=g["texts"][0], c=g["before"], d=d, L=L)
    elif g["after"]:
        out = rng.choice(CLAUSE_AFTER).format(x=g["texts"][0], c=g["after"], d=d, L=L)
    else:
        out = rng.choice(CLAUSE_BARE).format(x=g["texts"][0], d=d, L=L)
    if g["repeat"]:
        out += rng.choice(REPEAT_NOTE)
    return out


def make_cot(rng: random.Random, dataset: str, schema: list[str], filled: dict, query: bool) -> str:
    spans, fillers = filled["spans"], filled["fillers"]
    restate = rng.choice(RESTATE).format(T=join_and(schema))
    present = list(dict.fromkeys(s["label"] for s in spans))
    absent = [t for t in schema if t not in present]
    if not spans:
        t0 = rng.choice(schema)
        parts = [restate]
        parts.append(rng.choice(EMPTY_QUERY_READ if query else EMPTY_READ).format(t0=t0))
        if fillers and rng.random() < 0.7:
            slot, f = fillers[0]
            parts.append(_cap(rng.choice(FILLER_CLAUSE).format(f=f, fd=FILLER_DESC[slot])) + ".")
        parts.append(rng.choice(EMPTY_ABSENT).format(ts_or=join_or(schema), ts_and=_cap(join_and(schema))))
        parts.append(rng.choice(EMPTY_CONCLUDE))
        return " ".join(parts)
    groups = _groups(spans)
    n_unique = len(dict.fromkeys((s["text"], s["label"]) for s in spans))
    for level in (0, 1, 2):
        clauses = [_clause(rng, dataset, g, level) for g in groups]
        if fillers and rng.random() < 0.4:
            slot, f = rng.choice(fillers)
            clauses.append(rng.choice(FILLER_CLAUSE).format(f=f, fd=FILLER_DESC[slot]))
        tail: list[str] = []
        if absent:
            if len(absent) == 1:
                tail.append(rng.choice(ABSENT_ONE).format(t=absent[0]))
            else:
                tail.append(rng.choice(ABSENT_MANY).format(ts_or=join_or(absent), ts_and=_cap(join_and(absent))))
        elif rng.random() < 0.5:
            tail.append(rng.choice(ALL_COVERED))
        tail.append(rng.choice(CONCLUDE).format(n=n_unique, ent="entity" if n_unique == 1 else "entities"))
        room = 6 - 1 - len(tail)  # sentences left for the walk-through
        n_sent = min(room, len(clauses))
        walk: list[str] = []
        per = -(-len(clauses) // n_sent)
        for i in range(0, len(clauses), per):
            chunk = clauses[i : i + per]
            walk.append(
                _cap("; then ".join(chunk) if len(chunk) == 2 and rng.random() < 0.5 else "; ".join(chunk)) + "."
            )
        cot = " ".join([restate, *walk, *tail])
        if len(cot) <= 600:
            return cot
    raise ValueError(f"cot too long ({len(cot)} chars) for {filled['sentence']!r}")


# ======================================================================================================================
# Builders


class SentencePool:
    """Draws unique sentences from a domain's templates, cycling through templates in shuffled order."""

    def __init__(self, rng: random.Random, domain: dict, labels: dict, seen: set[str]):
        self.rng, self.domain, self.labels, self.seen = rng, domain, labels, seen
        self.queues: dict[str, list[str]] = {"templates": [], "empty": []}

    def draw(self, kind: str) -> tuple[str, dict]:
        for _ in range(200):
            q = self.queues[kind]
            if not q:
                q.extend(self.domain[kind])
                self.rng.shuffle(q)
            tpl = q.pop()
            filled = fill(self.rng, tpl, self.labels)
            if filled is None or filled["sentence"] in self.seen:
                continue
            if kind == "templates" and not filled["spans"]:
                continue
            self.seen.add(filled["sentence"])
            return tpl, filled
        raise RuntimeError(f"could not draw a new {kind} sentence")


def build_ner_cot(seed: int, seen: set[str]) -> list[dict]:
    records = []
    for d_idx, (name, dom) in enumerate(DOMAINS.items()):
        rng = random.Random(f"{seed}/ner_cot/{name}")
        pool = SentencePool(rng, dom, dom["labels"], seen)
        empty_at = sorted(rng.sample(range(NER_COT_PER_DOMAIN), NER_COT_EMPTY[d_idx]))
        types = dom["types"]
        for i in range(NER_COT_PER_DOMAIN):
            tpl, filled = pool.draw("empty" if i in empty_at else "templates")
            present = list(dict.fromkeys(s["label"] for s in filled["spans"]))
            lo = max(3, len(present))
            hi = min(7, len(types))
            size = rng.randint(lo, hi) if rng.random() < 0.7 else lo
            others = [t for t in types if t not in present]
            schema = present + rng.sample(others, size - len(present))
            rng.shuffle(schema)
            cot = make_cot(rng, name, schema, filled, query=tpl.startswith("~"))
            entities = []
            for s in filled["spans"]:
                e = {"text": s["text"], "label": s["label"]}
                if e not in entities:
                    entities.append(e)
            records.append(
                {
                    "guid": f"{name}-{i:03d}",
                    "dataset": name,
                    "sentence": filled["sentence"],
                    "schema": schema,
                    "cot": cot,
                    "entities": entities,
                }
            )
    return records


def build_instructuie(seed: int, seen: set[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name, spec in INSTRUCTUIE.items():
        rng = random.Random(f"{seed}/instructuie/{name}")
        pool = SentencePool(rng, DOMAINS[spec["domain"]], spec["labels"], seen)
        splits: dict[str, list] = {}
        for split, n in SPLIT_SIZES.items():
            empty_at = sorted(rng.sample(range(n), SPLIT_EMPTY[split]))
            recs = []
            for i in range(n):
                _tpl, filled = pool.draw("empty" if i in empty_at else "templates")
                recs.append(
                    {
                        "sentence": filled["sentence"],
                        "entities": [
                            {"name": s["text"], "type": s["label"], "pos": [s["start"], s["end"]]}
                            for s in filled["spans"]
                        ],
                    }
                )
            splits[split] = recs
        out[name] = {"labels": spec["labels_file"], "splits": splits}
    return out


CORPUS_PROSE = [
    "Named entity recognition finds the spans of a sentence that name people, places, organizations and other "
    "things, and assigns each span an entity type.",
    "The model first reasons inside a think block and then writes the entities as a JSON object.",
    "Each entity type in the schema is a short lower-case name such as person, location or programming language.",
    "A mention must be copied exactly as it is written in the sentence, including its punctuation.",
    "If no span fits a type, that type is left out of the answer.",
    "The reasoning restates the target types, looks at each candidate span and explains the decision.",
    "Types with no mention are named explicitly before the final answer is written.",
    "An empty answer is correct when the sentence contains no entity of the requested types.",
    "Precision counts how many predicted entities are correct; recall counts how many gold entities were found.",
    "The F1 score is the harmonic mean of precision and recall, computed over exact matches of text and type.",
    "Training uses supervised fine-tuning on reasoning chains, followed by reinforcement learning with a reward "
    "for well-formed and correct answers.",
    "The tokenizer splits text into bytes and merges frequent pairs into larger tokens.",
    "Datasets come from news, science, music, technology, biomedicine, movies, food and sports.",
    "Every example has a sentence, a schema, a reasoning chain and a list of entities with their labels.",
]
PROMPT_HEADS = [
    "Find the named entities in the sentence below. Only these entity types count:",
    "Extract every entity of the following types from the sentence:",
    "Given the entity types below, list the mentions that appear in the sentence.",
    "Identify the entities in the text. Allowed types:",
]
PROMPT_TAILS = [
    "Think it through first, then answer with one JSON object of the form "
    '{"entities": {"<type>": ["<mention>", ...]}}.',
    "Reason step by step inside <think> and </think>, then give the entities as JSON, grouped by type.",
    "Copy each mention exactly as written and leave out types with no mention.",
]


def build_corpus(seed: int, ner_cot: list[dict], held_out: set[str], target_bytes: int = 200_000) -> str:
    rng = random.Random(f"{seed}/corpus")
    names = list(DOMAINS)
    chunks: list[str] = []
    size = 0
    while size < target_bytes:
        name = rng.choice(names)
        dom = DOMAINS[name]
        kind = rng.random()
        if kind < 0.55:  # a paragraph of generated prose
            sents = []
            for _ in range(rng.randint(3, 7)):
                tpl = rng.choice(dom["empty"] if rng.random() < 0.15 else dom["templates"])
                filled = fill(rng, tpl, dom["labels"])
                if filled and filled["sentence"] not in held_out:
                    sents.append(filled["sentence"])
            chunk = " ".join(sents)
        elif kind < 0.75:  # a prompt with its target: think block and JSON answer
            tpl = rng.choice(dom["templates"])
            filled = fill(rng, tpl, dom["labels"])
            if not filled or filled["sentence"] in held_out:
                continue
            present = list(dict.fromkeys(s["label"] for s in filled["spans"]))
            others = [t for t in dom["types"] if t not in present]
            schema = present + rng.sample(others, max(0, min(len(others), 4 - len(present))))
            rng.shuffle(schema)
            answer: dict[str, list[str]] = {}
            for s in filled["spans"]:
                bucket = answer.setdefault(s["label"], [])
                if s["text"] not in bucket:
                    bucket.append(s["text"])
            cot = make_cot(rng, name, schema, filled, query=tpl.startswith("~"))
            indent = 2 if rng.random() < 0.6 else None
            chunk = "\n".join(
                [
                    rng.choice(PROMPT_HEADS),
                    json.dumps(schema, ensure_ascii=False),
                    f"Sentence: {filled['sentence']}",
                    rng.choice(PROMPT_TAILS),
                    "<think>",
                    cot,
                    "</think>",
                    json.dumps({"entities": answer}, ensure_ascii=False, indent=indent),
                ]
            )
        elif kind < 0.9:  # compact JSON answers and NER-CoT lines
            rec = rng.choice(ner_cot)
            answer = {}
            for e in rec["entities"]:
                answer.setdefault(e["label"], []).append(e["text"])
            lines = [
                json.dumps({"entities": answer}, ensure_ascii=False),
                f"types: {json.dumps(rec['schema'], ensure_ascii=False)}",
                f"{len(rec['entities'])} entities in the sentence; reasoning length {len(rec['cot'])} characters.",
            ]
            rng.shuffle(lines)
            chunk = "\n".join(lines)
        else:  # prose about the task
            chunk = " ".join(rng.sample(CORPUS_PROSE, rng.randint(2, 4)))
        if not chunk:
            continue
        chunk += "\n\n"
        chunks.append(chunk)
        size += len(chunk.encode("utf-8"))
    return "".join(chunks).rstrip("\n") + "\n"


# ======================================================================================================================
# Writing


def _dump_array(records: list) -> str:
    """A JSON array with one record per line."""
    return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]\n"


def write_all(out: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    seen: set[str] = set()
    ner_cot = build_ner_cot(seed, seen)
    iuie = build_instructuie(seed, seen)
    held_out = {r["sentence"] for d in iuie.values() for s in ("dev", "test") for r in d["splits"][s]}
    corpus = build_corpus(seed, ner_cot, held_out)

    written: list[Path] = []

    def put(rel: str, text: str) -> None:
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        written.append(p)

    put("ner_cot.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ner_cot))
    for name, d in iuie.items():
        put(f"instructuie/{name}/labels.json", json.dumps(d["labels"], ensure_ascii=False) + "\n")
        for split, recs in d["splits"].items():
            put(f"instructuie/{name}/{split}.json", _dump_array(recs))
    put("corpus.txt", corpus)
    return written


GENERATED = ["ner_cot.jsonl", "corpus.txt"] + [
    f"instructuie/{n}/{f}.json" for n in INSTRUCTUIE for f in ("labels", "train", "dev", "test")
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: the folder of this script)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = ap.parse_args(argv)
    for p in write_all(args.out, args.seed):
        print(f"{p.stat().st_size:>8}  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
