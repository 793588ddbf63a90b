"""Code and project links, venue and revision labels, found in a paper's own text.

Nothing here calls a service (the old code-link service is gone): links are
the URLs authors write in the abstract and comment, classified by host;
the venue is read from the comment and journal reference ("Accepted at
ICML 2025", "NeurIPS 2024 (Spotlight)", "Findings of EMNLP 2024"). Used by
the site, the feeds, ``papers.json`` and the digests; never by the
reference-format README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dailypapers.memo import per_paper
from dailypapers.models import Paper

MAX_LINKS = 6

# Labels shown for each kind of link.
KIND_LABELS = {
    "github": "GitHub",
    "gitlab": "GitLab",
    "huggingface": "Hugging Face",
    "project": "Project page",
}
_CODE_HOSTS = {
    "github.com": "github",
    "gitlab.com": "gitlab",
    "huggingface.co": "huggingface",
    "hf.co": "huggingface",
}
# Hosts whose links are not about the paper's code or project.
_IGNORED_HOSTS = (
    "arxiv.org",
    "doi.org",
    "dx.doi.org",
    "creativecommons.org",
    "orcid.org",
    "twitter.com",
    "x.com",
)
_BARE_HOSTS = r"(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co|[\w-]+\.github\.io)/"
# A URL ends at a space, a character URLs cannot hold, a control character, a
# bidirectional control (which would make the link show as something else, e.g.
# "...\u202egnp.exe" shown as "...exe.png", in a mail reader or a page) or an
# invisible one (zero-width characters, the BOM).
_URL = re.compile(
    rf"""(?ix)
    (?: https?:// | (?<![\w./@-])(?={_BARE_HOSTS}) )  # a scheme, or a bare code-host URL
    [^\s<>"'{{}}|\\^`\[\]\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2060\u202a-\u202e\u2066-\u2069\ufeff]+
    """
)
_TRAILING = ".,;:!?*'\")]}>"
_HOST = re.compile(r"^(?:https?://)?(?:www\.)?([^/:?#]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Link:
    """A link found in a paper's text: ``kind`` is github, gitlab, huggingface or project."""

    kind: str
    url: str

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "label": self.label, "url": self.url}


def find_links(paper: Paper) -> tuple[Link, ...]:
    """Code and project links in the abstract and comment, in order, without duplicates."""
    found: dict[str, Link] = {}
    for text in (paper.abstract, paper.comment or ""):
        if not _may_have_links(text):
            continue
        for match in _URL.finditer(text):
            link = classify(match.group(0))
            if link is not None and link.url.casefold() not in found:
                found[link.url.casefold()] = link
    return tuple(found.values())[:MAX_LINKS]


def _may_have_links(text: str) -> bool:
    """A cheap test before the URL pattern, which is slow on long texts without any URL."""
    if not text:
        return False
    lowered = text.lower()  # the hints of every URL the pattern finds, without a generator
    return (
        "http" in lowered or "github" in lowered or "gitlab" in lowered or "huggingface" in lowered
    )


def classify(raw: str) -> Link | None:
    """The :class:`Link` for one URL as written in a paper, or None when it is not one.

    Only http(s) URLs (or bare code-host URLs, which get ``https://``) are
    kept; trailing punctuation of the sentence is dropped.
    """
    url = _trim(raw)
    if not re.match(r"^https?://", url, re.IGNORECASE):
        url = "https://" + url
    host_match = _HOST.match(url)
    if host_match is None:
        return None
    host = host_match.group(1).lower().rstrip(".")
    if "." not in host or any(host == h or host.endswith("." + h) for h in _IGNORED_HOSTS):
        return None
    kind = _CODE_HOSTS.get(host, "project")
    path = url[host_match.end() :]
    if kind != "project":
        if not re.match(r"^/[\w.-]+", path):
            return None  # the site itself, not a repository or model
        return Link(kind, f"https://{host}{_repo_path(path)}")
    return Link(kind, url)


def _trim(raw: str) -> str:
    url = raw
    while url and url[-1] in _TRAILING:
        # Keep a closing bracket that closes one opened inside the URL.
        closer = url[-1]
        opener = {")": "(", "]": "[", "}": "{"}.get(closer)
        if opener and url.count(opener) >= url.count(closer):
            break
        url = url[:-1]
    return url


def _repo_path(path: str) -> str:
    path = path.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    return path.removesuffix(".git")


# --- venues --------------------------------------------------------------------

_VENUE_LIST = """
    AAAI AACL ACL ACCV AISTATS ALT BMVC CHI CIKM COLING COLM COLT CoNLL CoRL CVPR DAC
    EACL ECAI ECCV ECIR ECML EMNLP FAccT FOCS ICASSP ICCV ICDE ICDM ICLR ICML ICRA IJCAI
    IJCNLP INTERSPEECH IROS ISIT KDD LREC MICCAI MLSys NAACL NeurIPS NIPS RecSys RSS
    SIGGRAPH SIGIR SIGMOD SODA STOC TACL TMLR TPAMI UAI UIST USENIX VLDB WACV WSDM WWW
    JMLR IJCV TNNLS TKDE TIP TOG
"""
VENUES = tuple(_VENUE_LIST.split())
_VENUE_NAMES = {name.casefold(): name for name in VENUES}
_VENUE = re.compile(
    r"(?<![\w-])(" + "|".join(sorted(map(re.escape, VENUES), key=len, reverse=True)) + r")"
    # a year: "ICML 2025", "ICML-2025", "ICLR'25", "ICLR 25", "ICLR25"
    r"(?:[\s-]*((?:19|20)\d{2})|\s*['’]?\s*(\d{2}))?(?!\w)",
    re.IGNORECASE,
)
_NOT_YET = re.compile(
    r"(?i)\b(?:submitted|submission|under\s+review|in\s+review|preprint\s+for|rejected)\b"
)
_TRACKS = (
    ("workshop", "Workshop"),
    ("findings", "Findings"),
    ("oral", "Oral"),
    ("spotlight", "Spotlight"),
    ("best paper", "Best Paper"),
)
# Compiled once (a render asks for 10,000 papers' venues).
_TRACK_PATTERNS = tuple((re.compile(rf"(?i)\b{word}\b"), shown) for word, shown in _TRACKS)
_CLAUSES = re.compile(r"[;\n]|\.\s")
_ACCEPTED = re.compile(r"(?i)\b(?:accepted|appear|published)\b")


def find_venue(paper: Paper) -> str | None:
    """Where the paper was accepted or published, e.g. ``"ICML 2025"``.

    Read from the comment (``Accepted at NeurIPS 2024 (Spotlight)``,
    ``ICLR'25``) and then the journal reference; a venue the paper was only
    *submitted to* is not one. A journal reference without a known venue is
    returned as written (one line, at most 120 characters).
    """
    for text in (paper.comment, paper.journal_ref):
        venue = _venue_in(text or "")
        if venue:
            return venue
    if paper.journal_ref and paper.journal_ref.strip():
        reference = " ".join(paper.journal_ref.split())
        return reference if len(reference) <= 120 else reference[:119] + "…"
    return None


def _venue_in(text: str) -> str | None:
    if not text:
        return None
    for clause in _CLAUSES.split(text):
        match = _VENUE.search(clause)
        if match is None or _NOT_YET.search(clause[: match.start()]):
            continue
        name = _VENUE_NAMES[match.group(1).casefold()]
        year = match.group(2) or match.group(3)
        if year is None:
            if not _ACCEPTED.search(clause):
                continue  # a bare acronym ("we beat the ACL baseline") is no venue
            label = name
        else:
            label = f"{name} {year if len(year) == 4 else '20' + year}"
        tracks = [shown for pattern, shown in _TRACK_PATTERNS if pattern.search(clause)]
        return f"{label} ({', '.join(tracks)})" if tracks else label
    return None


# --- everything a renderer shows ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Labels:
    """What users ask to see beside a paper: links, venue, and whether it was revised."""

    links: tuple[Link, ...]
    venue: str | None
    revised: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "links": [link.to_dict() for link in self.links],
            "venue": self.venue,
            "revised": self.revised,
        }


@per_paper
def labels(paper: Paper) -> Labels:
    """The :class:`Labels` of a paper (pure function of its stored fields; memoised,
    as every output asks for the same papers' labels)."""
    return Labels(find_links(paper), find_venue(paper), is_revised(paper))


def is_revised(paper: Paper) -> bool:
    """True for version 2 and later."""
    return paper.version >= 2
