"""A submission's answers as shown to someone who may not see personal and sensitive ones,
drawn without decrypting them: from the public and internal answers (``data``, in clear) and
the form's plan alone.

Every protected question of the form shows one mask, answered or not, so the mask tells
nothing of what was answered; in a repeat, one per repetition, the repetitions counted from
the repeat's answers in clear (and from the repeats inside it). A repeat whose every answer is
protected cannot be counted without decrypting it, so its questions are left out; and so are
answers the form does not know, which are stored protected. Lists and their pages use it; an
export (exporters.rows_of) decrypts every row anyway, to write the file.
"""

from __future__ import annotations

from typing import Any

from amniyat.fieldwork.imports.schema import FormPlan
from amniyat.fieldwork.submissions.exporters import MASK, masked_answers


def masked_without_decrypting(data: dict[str, Any], plan: FormPlan) -> dict[str, Any]:
    """``data`` (a submission's answers in clear) with a mask for each protected question of
    ``plan``, as the module says."""
    # What data holds is public or internal as its version was classed; a question classed
    # protected since, or unknown to this plan, is masked all the same.
    shown = masked_answers(data, plan)
    shapes: dict[str, Any] = {}
    for spec in plan.fields:
        if not spec.protected or spec.path in shown:
            continue
        if spec.repeat is None:
            shown[spec.path] = MASK
            continue
        if spec.repeat not in shapes:
            shapes[spec.repeat] = _repetitions(data, plan, spec.repeat)
        if shapes[spec.repeat] is not None:
            shown[spec.path] = shapes[spec.repeat]
    return shown


def _repetitions(data: dict[str, Any], plan: FormPlan, repeat: str) -> Any:
    """A mask in each repetition of ``repeat``, nested as its answers are (a list per repeat
    holding it), counted from the answers in clear of it and of the repeats inside it; None
    where none are in clear."""
    depth = plan.depth(repeat)
    shape: Any = None
    for path, value in data.items():
        spec = plan.by_path.get(path)
        if spec is None or spec.protected or spec.repeat is None:
            continue
        if repeat in plan.repeat_chain(spec.repeat):
            shape = _merged(shape, _cut(value, depth))
    return shape


def _cut(value: Any, depth: int) -> Any:
    """``value``'s lists down to ``depth``, with a mask in place of what they hold there."""
    if depth == 0:
        return MASK
    if not isinstance(value, list):
        return []
    return [_cut(item, depth - 1) for item in value]


def _merged(one: Any, other: Any) -> Any:
    """Two shapes of the same repeat as one, each list as long as the longer of the two."""
    if one is None:
        return other
    if not isinstance(one, list) or not isinstance(other, list):
        return one if isinstance(one, list) else other
    longer, shorter = (one, other) if len(one) >= len(other) else (other, one)
    return [
        _merged(item, shorter[index]) if index < len(shorter) else item
        for index, item in enumerate(longer)
    ]
