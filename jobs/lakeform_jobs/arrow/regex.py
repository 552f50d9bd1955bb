"""A `matches` pattern (Java's regex, as Spark's rlike reads it) for pyarrow's RE2, or the reason
the Arrow path can't promise to read it the same way (the Spark path then evaluates it).

The Spark path asks `value.cast(string) rlike '^(?:p)$'`: Java finds the pattern anchored at both
ends. Both engines answer the same question (is there a way the pattern matches the whole text?)
when the pattern means the same to both, so this module only rewrites what each spells
differently and refuses everything else; it never matches anything itself:
  - `.` is any character but Java's line terminators (\\n \\r \\u0085 \\u2028 \\u2029): RE2's dot
    only leaves out \\n, so it is written as that class;
  - `\\s` is Java's [ \\t\\n\\x0B\\f\\r] (RE2's has no \\x0B), `\\S` its complement; `\\t \\n \\r \\f \\a \\e`,
    `\\xhh`, `\\x{h..h}` and `\\uhhhh` become RE2's `\\x{..}`; an escaped punctuation character is
    itself; `\\d \\D \\w \\W` are ASCII in both;
  - character classes of single characters, ranges and the escapes above (Java's nested
    classes, `&&` intersections and RE2's `[[:alpha:]]` read differently: refused);
  - groups `(...)`, `(?:...)` and named `(?<n>...)` (no backreferences reach here), alternation,
    `* + ? {n} {n,} {n,m}` greedy or lazy; possessive quantifiers and atomic groups change what
    matches: refused;
  - `^` is the start of the text in both; `$` only as the pattern's last character, where the
    outer `$` makes it redundant. Java's outer `$` also matches before a final line terminator
    (\\r\\n, \\n, \\r, \\u0085, \\u2028, \\u2029): expect.py also tries the text without it.
Refused: inline flags ((?i) is ASCII in Java, Unicode in RE2), \\b \\B (Java's word boundary is
not ASCII), \\p{..} classes, \\Q..\\E, octal and control escapes, \\v \\h \\R \\X \\A \\z \\Z \\G, and
anything RE2 won't compile."""

from __future__ import annotations

import re

# Java's line terminators (Pattern without UNIX_LINES): what its `.` leaves out.
JAVA_NOT_TERMINATOR = r"[^\x{0A}\x{0D}\x{85}\x{2028}\x{2029}]"
# Java's \s (Java 8+: includes \x0B), and its complement.
JAVA_SPACE_CHARS = r"\x{09}\x{0A}\x{0B}\x{0C}\x{0D}\x{20}"
# A final line terminator, which Java's `$` may stand before (Pattern.Dollar, not multiline).
FINAL_TERMINATOR = r"(?:\x{0D}\x{0A}|[\x{0A}\x{0D}\x{85}\x{2028}\x{2029}])\z"
SIMPLE_ESCAPES = {"t": 0x09, "n": 0x0A, "r": 0x0D, "f": 0x0C, "a": 0x07, "e": 0x1B}
REFUSED_ESCAPES = {
    "b": "\\b (Java's word boundary counts non-ASCII letters, RE2's doesn't)",
    "B": "\\B (Java's word boundary counts non-ASCII letters, RE2's doesn't)",
    "p": "a \\p{...} class (Java's names and Unicode version)",
    "P": "a \\P{...} class (Java's names and Unicode version)",
    "Q": "\\Q...\\E quoting",
    "E": "\\E",
    "v": "\\v (Java's vertical whitespace class, RE2's vertical tab)",
    "0": "an octal escape",
    "c": "a control-character escape",
}
REPEAT = re.compile(r"\{(\d{1,4})(,(\d{0,4}))?\}")
RE2_MAX_REPEAT = 1000


class Untranslatable(Exception):
    """The pattern means something else, or may, to RE2: the Spark path evaluates it."""


def _hex(cp: int) -> str:
    if 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF:
        raise Untranslatable(f"the code point {cp:#x} (a surrogate or out of range)")
    return "\\x{%X}" % cp


def _literal(ch: str) -> str:
    """One character as RE2 reads it literally: letters and digits as they are, anything else by its code point."""
    return ch if ch.isascii() and ch.isalnum() else _hex(ord(ch))


def _escape(p: str, i: int, in_class: bool) -> tuple[str, int, bool]:
    """The escape at p[i] (a backslash): (RE2 text, next index, whether it is one character, for ranges)."""
    if i + 1 >= len(p):
        raise Untranslatable("a trailing backslash")
    c = p[i + 1]
    if c in "dDwW":
        return "\\" + c, i + 2, False
    if c == "s":
        return (JAVA_SPACE_CHARS if in_class else f"[{JAVA_SPACE_CHARS}]"), i + 2, False
    if c == "S":
        if in_class:
            raise Untranslatable("\\S inside a character class")
        return f"[^{JAVA_SPACE_CHARS}]", i + 2, False
    if c in SIMPLE_ESCAPES:
        return _hex(SIMPLE_ESCAPES[c]), i + 2, True
    if c == "x":
        if p.startswith("{", i + 2):
            m = re.match(r"\{([0-9A-Fa-f]{1,6})\}", p[i + 2 :])
            if not m:
                raise Untranslatable("a \\x{...} escape RE2 reads otherwise")
            return _hex(int(m.group(1), 16)), i + 2 + m.end(), True
        m = re.match(r"[0-9A-Fa-f]{2}", p[i + 2 :])
        if not m:
            raise Untranslatable("a \\x escape without two hex digits")
        return _hex(int(m.group(0), 16)), i + 4, True
    if c == "u":
        m = re.match(r"[0-9A-Fa-f]{4}", p[i + 2 :])
        if not m:
            raise Untranslatable("a \\u escape without four hex digits")
        return _hex(int(m.group(0), 16)), i + 6, True
    if c in REFUSED_ESCAPES:
        raise Untranslatable(REFUSED_ESCAPES[c])
    if c.isascii() and not c.isalnum():
        return _hex(ord(c)), i + 2, True  # an escaped punctuation character (or space) is itself
    raise Untranslatable(f"the escape \\{c}")


def _class(p: str, i: int) -> tuple[str, int]:
    """The character class at p[i] ('['): its RE2 text and the index after its ']'."""
    j = i + 1
    out = ["["]
    if j < len(p) and p[j] == "^":
        out.append("^")
        j += 1
    members = 0
    prev_single: str | None = None  # the last member when it is one character (a range may start there)
    while True:
        if j >= len(p):
            raise Untranslatable("an unclosed character class")
        c = p[j]
        if c == "]":
            if members == 0:
                raise Untranslatable("a ']' at the start of a character class")
            out.append("]")
            return "".join(out), j + 1
        if c == "[":
            raise Untranslatable("a '[' inside a character class (Java: a nested class; RE2: [:name:])")
        if p.startswith("&&", j):
            raise Untranslatable("a class intersection (&&)")
        if c == "-" and members and prev_single is not None and j + 1 < len(p) and p[j + 1] != "]":
            # A range: its end is one character (a literal or a one-character escape).
            k = j + 1
            if p[k] == "\\":
                end, k, single = _escape(p, k, True)
                if not single:
                    raise Untranslatable("a range ending in a class escape")
            elif p[k] in "[&":
                raise Untranslatable("a range ending in '[' or '&'")
            else:
                end, k = _literal(p[k]), k + 1
            out.append("-" + end)
            prev_single = None
            members += 1
            j = k
            continue
        if c == "-" and members and prev_single is None and j + 1 < len(p) and p[j + 1] != "]":
            raise Untranslatable("a '-' after a range or class escape")
        if c == "\\":
            text, j, single = _escape(p, j, True)
        else:
            text, j, single = _literal(c), j + 1, True
        out.append(text)
        prev_single = text if single else None
        members += 1


def translate(pattern: str) -> str:
    """The pattern in RE2's syntax with the same meaning (see the module's doc); Untranslatable otherwise."""
    out: list[str] = []
    i, n = 0, len(pattern)
    depth = 0
    quantifiable = False  # whether a quantifier may follow (an atom or a group came last)
    while i < n:
        c = pattern[i]
        if c == "\\":
            text, i, _ = _escape(pattern, i, False)
            out.append(text)
            quantifiable = True
        elif c == "[":
            text, i = _class(pattern, i)
            out.append(text)
            quantifiable = True
        elif c == "(":
            if pattern.startswith("(?:", i):
                i += 3
            elif pattern.startswith("(?<", i) and re.match(r"\(\?<[A-Za-z][A-Za-z0-9]*>", pattern[i:]):
                i += re.match(r"\(\?<[A-Za-z][A-Za-z0-9]*>", pattern[i:]).end()  # type: ignore[union-attr]
            elif pattern.startswith("(?", i):
                raise Untranslatable("an inline flag or a special group (?...)")
            else:
                i += 1
            out.append("(?:")  # no backreference reaches here: every group may be non-capturing
            depth += 1
            quantifiable = False
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise Untranslatable("an unmatched ')'")
            out.append(")")
            i += 1
            quantifiable = True
        elif c == "|":
            out.append("|")
            i += 1
            quantifiable = False
        elif c in "*+?{":
            if c == "{":
                m = REPEAT.match(pattern, i)
                if not m:
                    raise Untranslatable("a '{' that is no repetition")
                lo, hi = int(m.group(1)), (m.group(3) or None)
                if lo > RE2_MAX_REPEAT or (hi is not None and int(hi) > RE2_MAX_REPEAT):
                    raise Untranslatable(f"a repetition over {RE2_MAX_REPEAT}")
                q, i = m.group(0), m.end()
            else:
                q, i = c, i + 1
            if not quantifiable:
                raise Untranslatable("a quantifier with nothing to repeat")
            if i < n and pattern[i] == "+":
                raise Untranslatable("a possessive quantifier")
            if i < n and pattern[i] == "?":
                q += "?"
                i += 1
            out.append(q)
            quantifiable = False
        elif c == ".":
            out.append(JAVA_NOT_TERMINATOR)
            i += 1
            quantifiable = True
        elif c == "^":
            out.append("^")
            i += 1
            quantifiable = False
        elif c == "$":
            if i != n - 1 or depth:
                raise Untranslatable("a '$' before the pattern's end (Java's $ also matches before a final line terminator)")
            i += 1  # the outer $ stands right after it: the same position
            quantifiable = False
        else:
            out.append(_literal(c))
            i += 1
            quantifiable = True
    if depth:
        raise Untranslatable("an unclosed group")
    re2 = "".join(out)
    _compiles(re2)
    return re2


def _compiles(re2: str) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array(["x"]), pattern=f"\\A(?:{re2})\\z")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise Untranslatable(f"RE2 doesn't compile it ({str(e)[:120]})") from None


def refusal(pattern: str) -> str | None:
    """Why the Arrow path hands this pattern to the Spark path, or None."""
    try:
        translate(pattern)
    except Untranslatable as e:
        return str(e)
    return None


def matches(text: "object", pattern: str) -> "object":
    """True where the whole text matches the pattern as Java's `^(?:p)$` finds it (null for a
    null text): RE2 over the text, or over the text without a final line terminator."""
    import pyarrow.compute as pc

    full = f"\\A(?:{translate(pattern)})\\z"
    whole = pc.match_substring_regex(text, pattern=full)
    ends = pc.match_substring_regex(text, pattern=FINAL_TERMINATOR)
    if not pc.any(ends).as_py():
        return whole
    cut = pc.replace_substring_regex(text, pattern=FINAL_TERMINATOR, replacement="", max_replacements=1)
    return pc.or_(whole, pc.and_(ends, pc.match_substring_regex(cut, pattern=full)))
