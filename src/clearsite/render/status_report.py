"""The programme office's periodic statement of removal progress, from proof: HTML, every value escaped."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, select_autoescape

__all__ = ["status_report_html"]

_STATES = {"not_started": "Not started", "in_progress": "In progress", "claimed": "Claimed, not yet verified",
           "verified": "Verified clear"}

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Removal status report, {{ r.as_of }}</title>
<style>
body { font-family: Arial, sans-serif; margin: 2em; color: #0b0c0c; max-width: 70em; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border-bottom: 1px solid #b1b4b6; padding: 4px 10px; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.marking { font-weight: bold; }
</style></head><body>
<p class="marking">OFFICIAL-SENSITIVE: names sites. Not for publication.</p>
<h1>Removal status report</h1>
<p>As of {{ r.as_of }}. A removal counts as done only when a later scan or switch table of its site confirmed the
device gone; claims not yet confirmed are shown apart.</p>
<h2>Summary</h2>
<table><tbody>
<tr><th scope="row">Affected devices</th><td class="n">{{ r.totals.affected }}</td></tr>
<tr><th scope="row">Verified removed</th><td class="n">{{ r.totals.verified }} ({{ '%.1f' % (100 * r.share_removed) }}%)</td></tr>
<tr><th scope="row">Claimed, not yet verified</th><td class="n">{{ r.totals.claimed }}</td></tr>
<tr><th scope="row">Claimed but seen again</th><td class="n">{{ r.totals.contradicted }}</td></tr>
<tr><th scope="row">Sites verified clear</th><td class="n">{{ r.totals.sites_verified }} of {{ r.totals.sites }}</td></tr>
<tr><th scope="row">Extensions granted</th><td class="n">{{ r.extensions.approved }} (requested {{ r.extensions.requested }}, refused {{ r.extensions.refused }})</td></tr>
</tbody></table>
<h2>Spend against budget by financial year</h2>
<table><thead><tr><th scope="col">Year</th><th class="n" scope="col">Budget</th><th class="n" scope="col">Planned</th>
<th class="n" scope="col">Ordered</th><th class="n" scope="col">Actual</th></tr></thead><tbody>
{% for y in r.spend %}<tr><td>{{ y.fy }}</td><td class="n">{{ money(y.budget) }}</td><td class="n">{{ money(y.planned) }}</td>
<td class="n">{{ money(y.ordered) }}</td><td class="n">{{ money(y.actual) }}</td></tr>
{% else %}<tr><td colspan="5">No plan, orders or costs recorded yet.</td></tr>{% endfor %}
</tbody></table>
<h2>Sites</h2>
<table><thead><tr><th scope="col">Site</th><th scope="col">Department</th><th scope="col">State</th>
<th class="n" scope="col">Affected</th><th class="n" scope="col">Claimed</th><th class="n" scope="col">Verified</th>
<th class="n" scope="col">Seen again</th><th class="n" scope="col">Removed</th></tr></thead><tbody>
{% for s in r.sites %}<tr><td>{{ s.site }}</td><td>{{ s.department }}</td><td>{{ states[s.state] }}</td>
<td class="n">{{ s.affected }}</td><td class="n">{{ s.claimed }}</td><td class="n">{{ s.verified }}</td>
<td class="n">{{ s.contradicted }}</td><td class="n">{{ '%.0f' % (100 * s.share_removed) }}%</td></tr>
{% endfor %}</tbody></table>
</body></html>
"""

_ENVIRONMENT = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def _money(value: float | None) -> str:
    return "—" if value is None else f"£{value:,.0f}"


def status_report_html(report: Any) -> str:
    """`report` is the contracts.StatusReport the service built."""
    return _ENVIRONMENT.from_string(_TEMPLATE).render(r=report, states=_STATES, money=_money)
