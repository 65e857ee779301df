"""The bars of a composition chart (``composition_chart.html``), written in Python: the
representativeness page draws twenty-one charts of a bar per target, and the template's loop
over them (a dozen variables a bar) cost more than counting the programme's members."""

from __future__ import annotations

from django import template
from django.templatetags.l10n import unlocalize
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from amniyat.communities.representativeness import Composition, TargetCheck

register = template.Library()

_BAR = (
    '\n  <div class="bar-row{}">\n    <span class="bar-label">{}</span>\n'
    '    <span class="bar-track">\n      <span class="bar-fill" style="width: {}%"></span>\n'
    '      <span class="bar-target" style="left: {}%" title="{}"></span>\n    </span>\n'
    '    <span class="bar-value">\n      {}\n      {}\n    </span>\n  </div>\n  '
)


def _value(check: TargetCheck, target: str) -> SafeString:
    """The share or count against the target, as the template's two branches wrote them."""
    if check.min_share is not None:
        return format_html(
            "{} <small>({} ≥ {})</small>\n      ", check.share_label, target, check.min_share_label
        )
    return format_html(
        "{} <small>({} ≥ {})</small>",
        str(formats.localize(check.count)),
        target,
        str(formats.localize(check.min_count)),
    )


@register.simple_tag
def target_bars(composition: Composition) -> SafeString:
    """A bar per target of ``composition``: its share (or count), the target's line, and
    whether it is met; the markup the chart's template wrote, escaped alike."""
    target, met, not_met = _("target"), _("met"), _("not met")
    return format_html_join(
        "",
        _BAR,
        (
            (
                "" if check.met else " unmet",
                capfirst(check.label),
                unlocalize(check.bar_percent),
                unlocalize(check.target_percent),
                target,
                _value(check, target),
                format_html('<span class="ok" aria-label="{}">✓</span>', met)
                if check.met
                else format_html('<span class="warn" aria-label="{}">!</span>', not_met),
            )
            for check in composition.checks
        ),
    )
