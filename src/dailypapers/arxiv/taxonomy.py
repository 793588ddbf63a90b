"""arXiv's category taxonomy (https://arxiv.org/category_taxonomy), for validation and filters.

The API has no archive-wide category search (``cat:cs`` is not documented and
wildcards are not promised), so an archive filter such as the reference's
"cs or stat" is expanded into the archive's categories.
"""

from __future__ import annotations

# Archive -> its subject classes, space-separated ("" for archives without any).
_TAXONOMY: dict[str, str] = {
    "cs": (
        "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC "
        "IR IT LG LO MA MM MS NA NE NI OH OS PF PL RO SC SD SE SI SY"
    ),
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": (
        "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO "
        "IT KT LO MG MP NA NT OA OC PR QA RA RT SG SP ST"
    ),
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": ("dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con"),
    "nlin": "AO CD CG PS SI",
    "physics": (
        "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph "
        "flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph"
    ),
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
    "gr-qc": "",
    "hep-ex": "",
    "hep-lat": "",
    "hep-ph": "",
    "hep-th": "",
    "math-ph": "",
    "nucl-ex": "",
    "nucl-th": "",
    "quant-ph": "",
}

ARCHIVES: frozenset[str] = frozenset(_TAXONOMY)


def archive_categories(archive: str) -> tuple[str, ...]:
    """Every category of ``archive`` (``"stat"`` -> ``("stat.AP", ...)``)."""
    subjects = _TAXONOMY[archive].split()
    return tuple(f"{archive}.{subject}" for subject in subjects) or (archive,)


CATEGORIES: frozenset[str] = frozenset(
    category for archive in _TAXONOMY for category in archive_categories(archive)
)


def archive_of(category: str) -> str:
    """The archive a category belongs to: ``"cs.AI"`` -> ``"cs"``."""
    return category.split(".", 1)[0]


# Names people reach for that arXiv files elsewhere; cs.NLP is the classic.
_ALIASES: dict[str, str] = {
    "cs.NLP": "cs.CL",
    "cs.ML": "cs.LG",
    "cs.RL": "cs.LG",
    "cs.DL4NLP": "cs.CL",
    "cs.NN": "cs.NE",
    "cs.SEC": "cs.CR",
    "cs.CRYPTO": "cs.CR",
    "cs.ROBOTICS": "cs.RO",
    "cs.HCI": "cs.HC",
    "cs.IV": "eess.IV",
    "cs.SP": "eess.SP",
    "cs.AS": "eess.AS",
    "stat.LG": "stat.ML",
}


def suggest_category(name: str) -> str | None:
    """The category a user most likely meant by an unknown ``name``, if any."""
    folded = {category.casefold(): category for category in CATEGORIES}
    aliases = {alias.casefold(): target for alias, target in _ALIASES.items()}
    key = name.casefold()
    if key in folded:
        return folded[key]
    if key in aliases:
        return aliases[key]
    import difflib  # only for a mistake: not loaded by every run

    close = difflib.get_close_matches(name, sorted(CATEGORIES), n=1, cutoff=0.75)
    return close[0] if close else None
