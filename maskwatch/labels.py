"""The label set shared by every stage, and the synonyms public data sets use for it."""

from __future__ import annotations

from maskwatch.errors import MaskwatchError

WITH_MASK = "with_mask"
WITHOUT_MASK = "without_mask"
MASK_INCORRECT = "mask_incorrect"
UNDETERMINED = "undetermined"

#: Classifier output order. The shipped model and every training run use exactly this order.
CLASSES: tuple[str, ...] = (WITH_MASK, WITHOUT_MASK, MASK_INCORRECT)
#: Labels that count as a violation (no mask, or a mask under the nose / on the chin).
VIOLATIONS: frozenset[str] = frozenset({WITHOUT_MASK, MASK_INCORRECT})
#: What people read for each label: the console's pages and the words drawn onto snapshots,
#: so a reviewer sees the same words on the picture as beside it. Plain ASCII: snapshot text
#: is drawn with OpenCV's Hershey fonts.
DISPLAY_NAMES: dict[str, str] = {
    WITH_MASK: "Mask on",
    WITHOUT_MASK: "No mask",
    MASK_INCORRECT: "Mask worn wrong",
    UNDETERMINED: "Undetermined",
}


def display_name(label: str) -> str:
    """The words shown for `label`; an unknown one is shown as it is."""
    return DISPLAY_NAMES.get(label, label)


_SYNONYMS: dict[str, str] = {
    "with_mask": WITH_MASK,
    "mask": WITH_MASK,
    "masked": WITH_MASK,
    "face_mask": WITH_MASK,
    "with-mask": WITH_MASK,
    "without_mask": WITHOUT_MASK,
    "no_mask": WITHOUT_MASK,
    "nomask": WITHOUT_MASK,
    "no-mask": WITHOUT_MASK,
    "unmasked": WITHOUT_MASK,
    "face_no_mask": WITHOUT_MASK,
    "without-mask": WITHOUT_MASK,
    "mask_incorrect": MASK_INCORRECT,
    "mask_weared_incorrect": MASK_INCORRECT,
    "mask_worn_incorrectly": MASK_INCORRECT,
    "with_incorrect_mask": MASK_INCORRECT,
    "incorrect_mask": MASK_INCORRECT,
    "incorrectly_worn_mask": MASK_INCORRECT,
    "improperly_worn": MASK_INCORRECT,
}


class UnknownLabelError(MaskwatchError, ValueError):
    """A data set uses a class name that cannot be mapped onto the three maskwatch classes."""


def canonical_label(name: str) -> str:
    """Map a data set's class name onto one of `CLASSES`, or raise `UnknownLabelError`."""
    key = name.strip().lower().replace(" ", "_")
    try:
        return _SYNONYMS[key]
    except KeyError:
        known = ", ".join(sorted(_SYNONYMS))
        raise UnknownLabelError(f"unknown label {name!r}; known labels: {known}") from None
