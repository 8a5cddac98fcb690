"""The public progress statement: redacted by construction, small departments folded, text escaped;
and the charts it and the plan use."""

from __future__ import annotations

import json
import random
import re
import shutil
from dataclasses import fields, replace
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest

from clearsite.core.plan import Plan, make_plan
from clearsite.render.charts import (
    BurndownPoint,
    MilestoneMark,
    burndown_svg,
    crew_colours,
    crew_load_svg,
    gantt_svg,
    plan_burndown_svg,
    svg_to_png,
)
from clearsite.render.public import (
    OTHER,
    Publication,
    PublicStatement,
    SiteProgress,
    build_internal_report,
    build_public_statement,
    internal_files,
    public_files,
    statement_to_dict,
)
from tests.test_plan_checker import small_instance

AS_OF = date(2024, 11, 15)
MILESTONES = [(date(2024, 10, 31), 0.7), (date(2025, 4, 30), 1.0)]


def sensitive_records(seed: int = 1) -> tuple[list[SiteProgress], list[str]]:
    """Sites that carry every kind of identifying detail, and the list of those details."""
    rng = random.Random(seed)
    records, secrets = [], []
    departments = (
        ["Home Office"] * 7 + ["Ministry of Justice"] * 6 + ["Tiny Agency"] * 2 + ["Small Office"] * 1
    )
    for i, dept in enumerate(departments):
        token = f"{rng.getrandbits(40):010x}"
        detail = {
            "address": f"{i + 10} Zqx{token} Street, Westminster SW1A {i}ZZ",
            "coordinates": f"51.{token[:6]},-0.{token[4:10]}",
            "ip": f"10.{i}.{rng.randint(1, 254)}.{rng.randint(1, 254)}",
            "mac": ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6)),
            "serial": f"DS-2CD2047G2-L2021{token.upper()}",
            "model": f"DS-2CD{rng.randint(1000, 9999)}G{token[:2]}-ZZ",
        }
        name = f"Secret Building {token}"
        cleared = date(2024, 5, 1) + timedelta(days=rng.randint(0, 200)) if i % 3 else None
        forecast = None if cleared else date(2024, 12, 1) + timedelta(days=rng.randint(0, 100))
        records.append(
            SiteProgress(
                name, dept, cleared, forecast, region="London", devices=rng.randint(1, 40), extra=detail
            )
        )
        secrets += [name, *detail.values()]
    return records, secrets


def test_public_output_contains_no_identifying_detail() -> None:
    records, secrets = sensitive_records()
    st = build_public_statement(records, as_of=AS_OF, milestones=MILESTONES, title="Progress")
    files = public_files(st)
    blob = "\n".join(files.values()).lower()
    for secret in secrets:
        assert secret.lower() not in blob, secret
        # and no telling fragment of it either (the random token in every name, address, serial)
        for token in re.findall(r"[0-9a-f]{10}", secret.lower()):
            assert token not in blob
    # MAC and IP shapes do not appear at all
    assert not re.search(r"\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b", blob)
    assert not re.search(r"\b10\.\d+\.\d+\.\d+\b", blob)


def test_the_statement_has_no_field_that_could_carry_a_site_detail() -> None:
    # redaction by construction: the only strings are the title, programme and department names
    st = build_public_statement(sensitive_records()[0], as_of=AS_OF, milestones=MILESTONES)
    assert {f.name for f in fields(PublicStatement)} == {
        "title", "programme", "as_of", "affected_sites", "cleared_sites", "milestones", "departments",
        "series", "forecast_complete", "min_department_sites", "publication",
    }  # fmt: skip
    assert all(isinstance(d.department, str) for d in st.departments)


def test_public_json_reads_only_department_and_dates_from_plain_dicts() -> None:
    rows = [
        {"department": "Home Office", "cleared_on": "2024-06-01", "site": "HQ", "ip": "10.0.0.1"},
        *[{"department": "Home Office", "forecast_on": "2025-01-10", "site": f"s{i}"} for i in range(5)],
    ]
    st = build_public_statement(rows, as_of=AS_OF, milestones=MILESTONES)
    text = json.dumps(statement_to_dict(st))
    assert "HQ" not in text and "10.0.0.1" not in text
    assert st.affected_sites == 6 and st.cleared_sites == 1


def test_departments_with_fewer_than_five_sites_fold_into_other() -> None:
    st = build_public_statement(sensitive_records()[0], as_of=AS_OF, milestones=MILESTONES)
    names = [d.department for d in st.departments]
    assert names == ["Home Office", "Ministry of Justice", OTHER]
    other = st.departments[-1]
    assert other.affected_sites == 3  # Tiny Agency (2) and Small Office (1)
    blob = "\n".join(public_files(st).values())
    assert "Tiny Agency" not in blob and "Small Office" not in blob
    assert sum(d.affected_sites for d in st.departments) == st.affected_sites


def test_shares_milestones_and_forecast_add_up() -> None:
    records = [SiteProgress(f"s{i}", "Dept", cleared_on=date(2024, 6, 1)) for i in range(6)]
    records += [SiteProgress(f"t{i}", "Dept", forecast_on=date(2025, 2, 7)) for i in range(3)]
    records += [SiteProgress("never", "Dept")]
    st = build_public_statement(records, as_of=AS_OF, milestones=MILESTONES)
    assert (st.cleared_sites, st.affected_sites) == (6, 10)
    oct_, apr = st.milestones
    assert oct_.basis == "actual" and oct_.share == pytest.approx(0.6) and not oct_.met
    assert apr.basis == "forecast" and apr.share == pytest.approx(0.9) and not apr.met
    assert st.forecast_complete is None  # one site has no plan
    assert [p.basis for p in st.series][:1] == ["actual"] and st.series[-1].basis == "forecast"
    assert st.series[-1].cleared_sites == 9


def test_html_escapes_department_and_title_text() -> None:
    evil = '<script>alert("x")</script>'
    records = [SiteProgress(f"s{i}", evil, cleared_on=date(2024, 6, 1)) for i in range(5)]
    st = build_public_statement(records, as_of=AS_OF, milestones=MILESTONES, title=evil, programme="A & B")
    html = public_files(st)["index.html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "A &amp; B" in html
    ElementTree.fromstring(public_files(st)["burndown.svg"])  # well-formed


def test_internal_report_has_full_detail_and_escapes_it() -> None:
    records, secrets = sensitive_records()
    records.append(SiteProgress("<b>Bold</b> House", "Home Office", extra={"note": "=cmd|' /C calc'!A0"}))
    inputs, settings = small_instance()
    plan = make_plan(inputs, settings)
    report = build_internal_report(records, as_of=AS_OF, milestones=MILESTONES, plan=plan)
    files = internal_files(report)
    html = files["index.html"]
    assert secrets[0] in html and "Tiny Agency" in html  # everything, nothing folded
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt; House" in html
    assert "OFFICIAL-SENSITIVE" in html
    for name in ("burndown.svg", "gantt.svg"):
        ElementTree.fromstring(files[name])


# --- charts ------------------------------------------------------------------------------------


def test_burndown_svg_is_well_formed_escaped_and_marks_milestones() -> None:
    points = [
        BurndownPoint(date(2024, 5, 1), 100, 2000),
        BurndownPoint(date(2024, 8, 1), 60, 1100),
        BurndownPoint(date(2024, 12, 1), 20, 300, forecast=True),
    ]
    svg = burndown_svg(
        points, [MilestoneMark(date(2024, 10, 31), 0.7)], total_sites=100, total_devices=2000, title="<&>"
    )
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "&lt;&amp;&gt;" in svg
    assert "70% of sites clear by 31 October 2024" in svg
    assert len(re.findall(r"<path d=\"M [^\"]+\" fill=\"none\"", svg)) == 4  # sites and devices, actual and forecast
    assert 'stroke-dasharray="6 4"' in svg


def test_the_burn_down_is_a_step_chart_so_a_missed_milestone_looks_missed() -> None:
    # 10 sites; 2 clear by the end of September, 9 by the end of November: a straight line between the
    # two would pass under the 31 October diamond (70% clear, 3 remaining) as if it were met
    points = [BurndownPoint(date(2024, 9, 30), 8), BurndownPoint(date(2024, 11, 30), 1)]
    svg = burndown_svg(points, [MilestoneMark(date(2024, 10, 31), 0.7)], total_sites=10)
    path = re.search(r'<path d="(M [^"]+)" fill="none"', svg).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"M [\d.]+ [\d.]+ H [\d.]+ V [\d.]+", path), path  # flat until November, then down
    _, x0, y0, _, x1, _, y1 = path.split()
    assert float(x1) > float(x0) and float(y1) > float(y0)


def test_a_legend_names_only_the_marks_its_chart_drew() -> None:
    forecast_only = [BurndownPoint(date(2024, 9, 1), 10), BurndownPoint(date(2024, 12, 31), 0, forecast=True)]
    svg = burndown_svg(forecast_only, [], total_sites=10)
    legend = re.findall(r'<text x="[\d.]+" y="[\d.]+">([^<]+)</text>', svg.split("</path>")[-1])
    assert "milestone target" not in legend and not any("devices" in t for t in legend)
    with_marks = burndown_svg(forecast_only, [MilestoneMark(date(2024, 10, 31), 0.7)], total_sites=10,
                              today=date(2024, 9, 1))
    assert "milestone target" in with_marks and "as of 1 September 2024" in with_marks
    same_day = [BurndownPoint(date(2024, 9, 1), 10), *forecast_only]  # an "actual line" of no length
    assert "sites (10 affected), forecast" in burndown_svg(same_day, [], total_sites=10)


def test_gantt_and_plan_burndown_from_a_typed_plan() -> None:
    inputs, settings = small_instance()
    data = make_plan(inputs, settings).to_dict()
    data["visits"][0]["region"] = data["capacity"][0]["region"] = '"><script>x</script>'
    plan = Plan.from_dict(data)
    for svg in (gantt_svg(plan), plan_burndown_svg(plan), crew_load_svg(plan)):
        ElementTree.fromstring(svg)
        assert "<script>" not in svg
    assert "crew hours" in crew_load_svg(plan) and "milestone 24 May 2024" in crew_load_svg(plan)


def test_the_gantt_has_a_row_per_site_and_a_bar_per_visit_in_its_crews_colour() -> None:
    plan = make_plan(*small_instance())
    gantt = gantt_svg(plan)
    root = ElementTree.fromstring(gantt)
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert len(bars) == len(plan.visits)
    colours = crew_colours(plan)
    for visit in plan.visits:
        assert any(visit.site in bar.find(f"{ns}title").text and bar.get("fill") == colours[visit.crew]  # type: ignore[union-attr,operator]
                   for bar in bars)
    labels = {t.text for t in root.iter(f"{ns}text")}
    assert {v.site for v in plan.visits} <= labels and {f"crew {c}" for c in colours} <= labels
    assert root.find(f"{ns}title") is not None and root.find(f"{ns}desc") is not None


def test_empty_charts_still_render() -> None:
    ElementTree.fromstring(burndown_svg([], [], total_sites=0))
    plan = make_plan(*small_instance())
    ElementTree.fromstring(gantt_svg(replace(plan, visits=(), capacity=(), milestones=())))
    ElementTree.fromstring(crew_load_svg(replace(plan, visits=(), capacity=(), milestones=())))


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="needs rsvg-convert (librsvg2-bin)")
def test_charts_rasterise_to_png() -> None:
    inputs, settings = small_instance()
    png = svg_to_png(gantt_svg(make_plan(inputs, settings)))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


# --- the statement as published ----------------------------------------------------------------


def test_a_statement_about_one_department_names_it() -> None:
    records = [SiteProgress(f"s{i}", "Department for Regional Resilience", forecast_on=date(2025, 1, 10))
               for i in range(3)]
    st = build_public_statement(records, as_of=AS_OF, milestones=MILESTONES)
    assert [d.department for d in st.departments] == ["Department for Regional Resilience"]
    assert OTHER not in "\n".join(public_files(st).values())


def test_the_statement_follows_the_statistics_conventions_and_carries_its_publication() -> None:
    publication = Publication(programme="Removal programme", publisher="Home Office", contact="team@example.gov.uk",
                              published=date(2024, 11, 18), next_update="February 2025")
    st = build_public_statement(sensitive_records()[0], as_of=AS_OF, milestones=MILESTONES, publication=publication)
    html = public_files(st)["index.html"]
    for expected in ("Removal programme", "Published", "18 November 2024", "Next update", "February 2025",
                     "Main points", "Table 1:", "(per cent of sites)", "(number of sites", "Source:",
                     'href="mailto:team@example.gov.uk"', "Open Government Licence v3.0", 'rel="license"'):
        assert expected in html, expected
    assert "infeasible" not in html and "objective" not in html and ">31 October 2024<" in html
    data = statement_to_dict(st)
    assert (data["publisher"], data["published"], data["next_update"]) == ("Home Office", "2024-11-18", "February 2025")
    assert data["licence"]["url"].startswith("https://www.nationalarchives.gov.uk/doc/open-government-licence/")


def test_publish_takes_its_publication_from_the_settings_file_and_options(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_plan_cli import setup

    setup(cli, tmp_path)
    settings = tmp_path / "settings.toml"
    settings.write_text('[publication]\npublisher = "Dept A"\ncontact = "removals@example.gov.uk"\n'
                        'next_update = "March 2027"\n')
    cli("publish", "--public", str(tmp_path / "public"), "--as-of", "2026-11-29", "--settings", str(settings),
        "--programme", "Programme X")
    data = json.loads((tmp_path / "public" / "progress.json").read_text())
    assert (data["programme"], data["publisher"], data["contact"], data["next_update"], data["published"]) == \
        ("Programme X", "Dept A", "removals@example.gov.uk", "March 2027", "2026-11-29")
    assert data["licence"]["name"] == "Open Government Licence v3.0"
    settings.write_text('[publication]\npublsher = "typo"\n')
    bad = cli("publish", "--public", str(tmp_path / "again"), "--settings", str(settings), check=False)
    assert bad.returncode == 2 and "publsher" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
