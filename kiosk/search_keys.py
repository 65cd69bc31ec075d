"""Search words for households (户): numbers and names with their pinyin, for the office search.

Pure functions, no database. A household's search key is one lower-case, space-separated
string (``Household.search_key``) of:

- the household number (``dt-012``),
- every name (the head's and each active member's) as written (``张三丰``),
- its full pinyin without tones (``zhangsanfeng``),
- its initials (``zsf``).

Polyphonic surnames: pypinyin reads 曾 as "ceng", 单 as "dan" and 解 as "jie" — but as
surnames they are "zeng", "shan" and "xie". A name's first character is the surname (or the
first character of a compound surname such as 欧阳, 长孙), so every reading pypinyin knows for
that one character is added (曾 → zeng and ceng, 单 → shan, dan and chan), each with the rest
of the name read in context. Only the first character gets its alternatives: readings of every
character would multiply the words for names that are not ambiguous to anyone.

A query is normalised the same way (:func:`normalize_query`) and matched as a substring of the
key, so "zs", "zhangsan", "sanfeng", "张三" and "012" all find 张三丰 of household DT-012.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# Characters a name may carry that are not part of its reading: the middle dot of minority
# names (阿依古丽·买买提), spaces, and the punctuation people type by mistake.
_SEPARATORS = re.compile(r"[\s·•・\.\-_,，、;；:：'\"“”()（）]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def clean(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), lower case, no separators."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _SEPARATORS.sub("", text)


def normalize_query(text: str) -> str:
    """A query as it is matched against keys: cleaned like a key word, at most 50 characters."""
    return clean(text)[:50]


def _syllables(name: str) -> list[str]:
    # Non-Chinese runs (latin letters, digits) come back as one item each, lower-cased.
    from pypinyin import lazy_pinyin  # (its dictionaries take ~0.4 s and tens of MB: not at start)

    return [s.lower() for s in lazy_pinyin(name, errors="default") if s.strip()]


def surname_readings(char: str) -> list[str]:
    """Every pinyin reading pypinyin knows for one character, its most common first."""
    return list(_surname_readings(char))


@lru_cache(maxsize=4096)
def _surname_readings(char: str) -> tuple[str, ...]:
    # Cached: a few hundred surnames cover a county, and each lookup costs as much as a name.
    if not _HAN.match(char):
        return ()
    from pypinyin import Style, pinyin

    readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
    out: list[str] = []
    for r in readings:
        r = r.lower()
        if r and r not in out:
            out.append(r)
    return tuple(out)


def name_words(name: str) -> list[str]:
    """The search words of one name: itself, full pinyin and initials, for each surname reading."""
    return list(_name_words(name))


@lru_cache(maxsize=131_072)
def _name_words(name: str) -> tuple[str, ...]:
    # Cached (pypinyin is slow, ~0.3 ms a name): a household's head is usually also its first
    # member, and names recur across a county. Sized for a county's distinct names (a few MB
    # per 10,000), so that ``jifen check`` recomputing every key reads pypinyin once a name.
    word = clean(name)
    if not word:
        return ()
    words = [word]
    if not _HAN.search(word):
        return (word,)  # a latin name is its own pinyin
    syllables = _syllables(word)
    # pypinyin's reading in context first, then every other reading of the surname character.
    variants = [syllables]
    if _HAN.match(word[0]):
        for reading in surname_readings(word[0]):
            variant = [reading, *syllables[1:]]
            if variant not in variants:
                variants.append(variant)
    for variant in variants:
        full = "".join(variant)
        initials = "".join(s[0] for s in variant)
        # ü is typed as v on a keyboard (吕 lv) but often as u by people who never learnt that.
        for w in (full, full.replace("v", "u"), initials):
            if w not in words:
                words.append(w)
    return tuple(words)


def build_search_key(number: str, names: Iterable[str]) -> str:
    """The household's search key: its number and every name's words, deduplicated."""
    words: list[str] = []
    for w in [clean(number), *(w for n in names for w in name_words(n))]:
        if w and w not in words:
            words.append(w)
    return " ".join(words)
