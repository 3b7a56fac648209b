"""What a component that reads rows did with them, in one line, and the cap on skipped rows: shared by
TextExampleGen, SentencePieceVocab and PretrainingDataGen (plain Python: no TFX, no TensorFlow).

`counts_text` formats read / kept / skipped by reason / truncated the same way for every component (the
run's progress lines and closing summary show it); `skipped_fraction_error` is the one-line error of an input
that lost more rows than `max_skipped_fraction` allows (raised as `TooManySkippedRowsError`).
"""

from typing import Mapping, Optional, Tuple

# A few unreadable rows in a large file are normal and are skipped (and counted). When more than one row in
# ten is skipped, the file is more likely read the wrong way (delimiter, quoting, encoding, column count)
# than dirty, and training on the rest would hide that: 0.1 stops such a run. 0 allows no skipped row;
# 1 never stops.
DEFAULT_MAX_SKIPPED_FRACTION = 0.1


class DataError(RuntimeError):
    """The input data cannot give a sound model; the message is one line naming the file or split and why."""


class TooManySkippedRowsError(DataError):
    """More rows of an input were skipped than `max_skipped_fraction` allows."""


def check_max_skipped_fraction(value, name: str = "max_skipped_fraction") -> None:
    """ValueError naming `name` unless `value` is a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")


def reasons_text(counts: Mapping[str, int]) -> str:
    """`invalid_utf8 2, too_few_fields 1`: the non-zero counts, in the mapping's order."""
    return ", ".join(f"{reason} {n:,}" for reason, n in counts.items() if n)


def counts_text(read: int, kept: int, skipped: Mapping[str, int], truncated: int, unit: str = "rows",
                kept_detail: str = "", truncated_detail: str = "") -> str:
    """`read 1,004 rows, kept 1,000 (train 900, eval 100), skipped 4 (invalid_utf8 1, too_few_fields 3),
    truncated 1 (fields over 1,000,000 characters)`: the same words for every component."""
    total = sum(skipped.values())
    reasons = reasons_text(skipped)
    text = f"read {read:,} {unit}, kept {kept:,}" + (f" ({kept_detail})" if kept_detail else "")
    text += f", skipped {total:,}" + (f" ({reasons})" if reasons else "")
    return text + f", truncated {truncated:,}" + (f" ({truncated_detail})" if truncated and truncated_detail else "")


def skipped_fraction_error(sources: Mapping[str, Tuple[int, Mapping[str, int]]], max_fraction: float,
                           unit: str = "rows") -> Optional[str]:
    """One line naming each source (a file or pattern) -> (rows read, {reason: rows skipped}) that lost more than
    `max_fraction` of its rows, with the counts per reason; None when none did."""
    over = [f"{source}: {sum(skipped.values()):,} of {read:,} {unit} skipped ({sum(skipped.values()) / read:.1%}: "
            f"{reasons_text(skipped)})" for source, (read, skipped) in sources.items()
            if read and sum(skipped.values()) / read > max_fraction]
    if not over:
        return None
    return (f"{'; '.join(over)}: more than max_skipped_fraction {max_fraction:g} allows; fix the data or how it is "
            "read (delimiter, quoting, columns), or raise the cap (data.max_skipped_fraction in the pipeline config)")
