"""Words of figures: the counted things, number words, hedges and link words (general English).

Kept apart from the parser in :mod:`bot.claims.figures` so the tables can be read and extended
on their own. Every list is plain English usage, not phrasing taken from any one article.
"""

from __future__ import annotations

import re


def _w(words: str) -> tuple[str, ...]:
    return tuple(words.split())


def _pairs(spec: str) -> tuple[tuple[str, str], ...]:
    """ "a=b; c=d" -> ((a, b), (c, d))."""
    return tuple((k.strip(), v.strip()) for k, v in (item.split("=") for item in spec.split(";")))


# canonical unit -> the English nouns that count it (singular and plural)
UNITS: dict[str, tuple[str, ...]] = {
    "containers": _w("container containers"),
    "rounds": _w("round rounds shell shells projectile projectiles cartridges"),
    "missiles": _w("missile missiles"),
    "rockets": _w("rocket rockets"),
    "launchers": _w("launcher launchers"),
    "tests": _w("test tests launch launches"),
    "troops": _w(
        "troop troops soldier soldiers servicemen personnel fighters conscripts forces commandos"
    ),
    "casualties": _w("casualty casualties"),
    "deaths": _w("death deaths fatalities dead"),
    "workers": _w("worker workers labourers laborers"),
    "people": _w("person people persons"),
    "drones": _w("drone drones uav uavs"),
    "vehicles": _w("vehicle vehicles truck trucks"),
    "tanks": _w("tank tanks"),
    "guns": _w("gun guns howitzer howitzers"),
    "ships": _w("ship ships vessel vessels warship warships"),
    "wagons": _w("wagon wagons railcar railcars boxcars"),
    "shipments": _w("shipment shipments consignment consignments"),
    "factories": _w("factory factories plant plants facility facilities"),
    "warheads": _w("warhead warheads"),
    "satellites": _w("satellite satellites"),
    "barrels": _w("barrel barrels"),
    "tons": _w("ton tons tonne tonnes"),
    "kg": _w("kg kilogram kilograms kilo kilos"),
    "km": _w("km kilometre kilometres kilometer kilometers kms"),
    "miles": _w("mile miles"),
    "m": _w("metre metres meter meters"),
    "mm": _w("mm millimetre millimetres millimeter millimeters"),
    "percent": _w("percent % pct"),
    "usd": _w("dollar dollars usd"),
    "days": _w("day days"),
    "weeks": _w("week weeks"),
    "months": _w("month months"),
    "years": _w("year years"),
    "hours": _w("hour hours"),
}
HARMED = frozenset(_w("killed wounded injured dead died hurt"))
# launched things whose tests or launches news counts as the things fired ("100 missile tests")
FIRED = frozenset({"missiles", "rockets", "drones", "satellites"})
UNIT_OF = {word: unit for unit, words in UNITS.items() for word in words}
# two-word unit nouns, keyed by their first word
UNIT_PAIRS = {("per", "cent"): "percent", ("metric", "tons"): "tons", ("rail", "cars"): "wagons"}
ATTACHED = {"mm": "mm", "km": "km", "kg": "kg", "cm": "cm", "t": "tons", "pct": "percent"}

# what a container or a shipment holds, folded to one word
CARGO = dict.fromkeys(
    _w(
        "munitions munition ammunition ammo arms weapons weaponry ordnance armaments equipment"
        " materiel hardware"
    ),
    "munitions",
)
# capitals standing for their country as a destination
CAPITALS = {
    "moscow": "russia",
    "pyongyang": "north korea",
    "seoul": "south korea",
    "kyiv": "ukraine",
    "kiev": "ukraine",
    "beijing": "china",
    "tehran": "iran",
    "washington": "united states",
    "tokyo": "japan",
}

SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
SHORT_SCALES = {"k": 1000, "mn": 10**6, "bn": 10**9, "b": 10**9, "tn": 10**12}
# vague plurals: (lowest, highest) multiple of their magnitude, and the magnitude
VAGUE = {
    "tens": (1.0, 9.9, 10),
    "dozens": (2.0, 8.25, 12),
    "hundreds": (2.0, 9.99, 100),
    "thousands": (2.0, 9.999, 1000),
    "millions": (2.0, 9.999, 10**6),
    "billions": (2.0, 9.999, 10**9),
}
FEW = {"several": (3.0, 9.0), "few": (2.0, 5.0), "couple": (2.0, 2.0)}

# hedges before a number, longest first: phrase=normalised qualifier
QUALIFIERS = _pairs(
    "no more than=up to; no fewer than=at least; no less than=at least;"
    " more than=more than; greater than=more than; in excess of=more than;"
    " upwards of=more than; well over=more than; just over=more than; over=more than;"
    " above=more than; exceeding=more than; at least=at least; a minimum of=at least;"
    " up to=up to; as many as=up to; as much as=up to; at most=up to;"
    " a maximum of=up to; fewer than=fewer than; less than=fewer than;"
    " just under=fewer than; under=fewer than; below=fewer than; nearly=nearly;"
    " almost=nearly; close to=nearly; an estimated=about; estimated=about;"
    " approximately=about; roughly=about; around=about; about=about; some=about;"
    " circa=about; between=between"
)
QUAL_RE = re.compile(
    r"\b(" + "|".join(re.escape(q) for q, _ in QUALIFIERS) + r")\s+$", re.IGNORECASE
)
QUAL_OF = dict(QUALIFIERS)

# words that end a noun phrase (function words, copulas, common verbs of reporting)
STOP = frozenset(
    _w(
        """of to in on at by for from with and or but nor that which who whom whose was were is are
    be been being has have had will would could can may might must should shall did do does as
    than per into onto over under after before since during while when where if so the a an this
    these those its their his her our your my it they he she we you said says say told according
    according"""
    )
)
# linking words after which a number states the figure of a thing named earlier
LINKS = frozenset(
    _w(
        """is are was were be been reached reach reaches total totals totaled totalled totalling
    totaling number numbered numbers stood stands at to hit hits exceeded exceeds topped tops rose
    risen grew climbed jumped increased fell dropped doubled estimated put now about"""
    )
)
DETERMINERS = frozenset(_w("the its their his her these those our some all"))
MONTHS = frozenset(
    _w(
        """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec"""
    )
)
PARTICIPLE_RE = re.compile(
    r"^(?:\w+ed|\w+ing|sent|sold|made|built|given|seen|held|taken|brought|found|kept|bound)$"
)
PLURAL_RE = re.compile(r"^[a-z]{3,}[^su'’]s$")
TRANSFER_RE = re.compile(
    r"\b(?:ship|shipp|sen[dt]|deliver|suppl|transfer|export|provid|dispatch|deploy|transport"
    r"|mov|bound|head|destined|arriv|gave|giv|sold|sell|funnel|smuggl|handed|rout|shipment|went|gone|flow|carr"
    r"|deliver|transfer)\w*\b[^.;]{0,80}?\b(?:to|into)\s+(?:the\s+)?"
    r"((?:[A-Z][\w'’]*)(?:\s+[A-Z][\w'’]*)?)",
)
SINCE_RE = re.compile(
    r"\bsince\s+(?:(?:the\s+)?(early|mid|late|beginning of|start of|end of|the start of"
    r"|the beginning of|the end of)[\s-]*)?"
    r"((?:January|February|March|April|May|June|July|August|September|October|November"
    r"|December)(?:\s+(?:19|20)\d\d)?|(?:19|20)\d\d|last\s+(?:year|month|week)"
    r"|the\s+(?:war|invasion|conflict)\s+(?:began|started)|the\s+start\s+of\s+the\s+war)",
    re.IGNORECASE,
)
YEAR_MIN, YEAR_MAX = 1900, 2100
MEASURES = frozenset({"km", "mm", "m", "kg", "miles", "cm", "tons", "percent"})
DURATIONS = frozenset({"days", "weeks", "months", "years", "hours"})
LENGTHS = frozenset({"km", "mm", "m", "miles", "cm"})  # sizes and ranges: no cargo, no baseline
TOKEN_RE = re.compile(
    r"(?P<num>(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.,])\d+(?:\.\d+)?)(?P<suf>[a-z]+)?"
    r"|(?P<word>[A-Za-z]+(?:-\d+[A-Za-z]*)*(?:['’][a-z]+)?)"
    r"|(?P<punct>[^\sA-Za-z\d])",
    re.IGNORECASE,
)
CHAR_MAP = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2019": "'", "\u00a0": " "})
