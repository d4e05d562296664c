"""The weekly meeting's report: one self-contained HTML file (inline CSS, JS and SVG charts, nothing
fetched) and a CSV with the same figures, made from the frozen ``kpi_snapshot`` rows of one week."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pandas as pd

LANGUAGES = ("en", "es")

TEXT = {
    "en": {
        "title": "Weekly marketing & sales report",
        "week": "Week",
        "snapshot_at": "Snapshot taken",
        "funnel": "Funnel: this week and last week",
        "this_week": "This week",
        "last_week": "Last week",
        "change": "Change",
        "conversion": "Conversion by channel",
        "spend": "Spend and cost per stage",
        "sla": "Speed to lead and SLA compliance",
        "slowest": "Slowest follow-ups",
        "not_contacted": "not contacted",
        "rejections": "Top rejection reasons",
        "commitments": "Commitments met or missed",
        "targets": "Target versus actual",
        "target": "Target",
        "gap": "Actual − target",
        "actual": "Actual",
        "met": "met",
        "missed": "missed",
        "channel": "Channel",
        "kpi": "KPI",
        "lead": "Lead",
        "reason": "Reason",
        "count": "Leads",
        "none": "Nothing this week.",
        "footer": "Frozen snapshot: later corrections in the sources do not change this report. Definitions: dbt semantic layer (models/semantic).",
    },
    "es": {
        "title": "Informe semanal de marketing y ventas",
        "week": "Semana",
        "snapshot_at": "Instantánea tomada",
        "funnel": "Embudo: esta semana y la anterior",
        "this_week": "Esta semana",
        "last_week": "Semana anterior",
        "change": "Cambio",
        "conversion": "Conversión por canal",
        "spend": "Inversión y coste por etapa",
        "sla": "Velocidad de contacto y cumplimiento del SLA",
        "slowest": "Seguimientos más lentos",
        "not_contacted": "sin contactar",
        "rejections": "Principales motivos de rechazo",
        "commitments": "Compromisos cumplidos o incumplidos",
        "targets": "Objetivo frente a real",
        "target": "Objetivo",
        "gap": "Real − objetivo",
        "actual": "Real",
        "met": "cumplido",
        "missed": "incumplido",
        "channel": "Canal",
        "kpi": "KPI",
        "lead": "Lead",
        "reason": "Motivo",
        "count": "Leads",
        "none": "Nada esta semana.",
        "footer": "Instantánea congelada: las correcciones posteriores en las fuentes no cambian este informe. Definiciones: capa semántica de dbt (models/semantic).",
    },
}

KPI_LABELS_ES = {
    "leads": "Leads", "mqls": "MQL", "sqls": "SQL", "opportunities": "Oportunidades", "customers": "Clientes",
    "revenue": "Ingresos", "ad_spend": "Inversión publicitaria", "cost_per_lead": "Coste por lead",
    "cost_per_mql": "Coste por MQL", "customer_acquisition_cost": "Coste de adquisición de cliente",
    "roas": "ROAS", "average_deal_size": "Tamaño medio de venta", "sales_cycle_days": "Ciclo de venta (días)",
    "lead_to_sale_rate_period": "Lead a venta (periodo)", "lead_to_sale_rate_cohort": "Lead a venta (cohorte)",
    "lead_to_mql_rate_period": "Lead a MQL (periodo)", "mql_to_sql_rate_period": "MQL a SQL (periodo)",
    "speed_to_lead_median_hours": "Velocidad de contacto, mediana (h)",
    "speed_to_lead_p95_hours": "Velocidad de contacto, p95 (h)", "sla_compliance": "Cumplimiento SLA (primer contacto)",
    "follow_up_sla_compliance": "Cumplimiento SLA de seguimiento", "decision_sla_compliance": "Cumplimiento SLA de decisión",
    "mql_acceptance_rate": "Tasa de aceptación de MQL", "mql_rejection_rate": "Tasa de rechazo de MQL",
    "qualified_mqls": "MQL (acuerdo)", "online_to_offline_share": "Cuota online a tienda",
    "follow_up_attempts_per_mql": "Intentos de seguimiento por MQL",
}

FUNNEL = ["leads", "mqls", "sqls", "opportunities", "customers", "revenue"]
CONVERSION = ["lead_to_mql_rate_period", "mql_to_sql_rate_period", "lead_to_sale_rate_period", "lead_to_sale_rate_cohort"]
SPEND = ["ad_spend", "cost_per_lead", "cost_per_mql", "customer_acquisition_cost", "roas"]
SLA = ["speed_to_lead_median_hours", "speed_to_lead_p95_hours", "sla_compliance", "follow_up_sla_compliance",
       "decision_sla_compliance", "mql_acceptance_rate", "mql_rejection_rate"]


def format_value(value: float | None, unit: str, language: str) -> str:
    """The number as the page shows it (locale-aware): '1,234.5' in English, '1.234,5' in Spanish."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "ratio":
        text = f"{value * 100:,.1f} %"
    elif unit == "multiple":
        text = f"{value:,.2f}×"
    elif unit == "count":
        text = f"{value:,.0f}"
    elif unit == "currency":
        text = f"{value:,.0f} €" if abs(value) >= 100 else f"{value:,.2f} €"
    else:
        text = f"{value:,.1f}"
    if language == "es":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _label(row: pd.Series, language: str) -> str:
    return KPI_LABELS_ES.get(row["kpi"], row["kpi_label"]) if language == "es" else row["kpi_label"]


def _num(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return float(value)


def _cell(row: pd.Series, column: str, language: str) -> str:
    value = _num(row[column])
    attrs = (f'data-kpi="{html.escape(row["kpi"])}" data-dimension="{html.escape(row["dimension"])}" '
             f'data-member="{html.escape(row["dimension_value"])}" data-column="{column}" '
             f'data-value="{"" if value is None else repr(value)}"')
    return f'<td class="num" {attrs}>{html.escape(format_value(value, row["unit"], language))}</td>'


def _table(rows: pd.DataFrame, columns: list[tuple[str, str]], first: tuple[str, str], language: str) -> str:
    if rows.empty:
        return f'<p class="empty">{TEXT[language]["none"]}</p>'
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in [first, *columns])
    body = []
    for _, row in rows.iterrows():
        name = _label(row, language) if first[0] == "kpi" else row[first[0]]
        cells = "".join(_cell(row, column, language) for column, _ in columns)
        body.append(f"<tr><th scope=\"row\">{html.escape(str(name))}</th>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _chart(chart_id: str, series: list[dict], language: str) -> str:
    """A chart the inline script draws as SVG bars from this JSON (values straight from the snapshot)."""
    data = html.escape(json.dumps(series, allow_nan=False), quote=True)
    return f'<figure class="chart"><svg id="{chart_id}" class="bars" data-series="{data}" role="img"></svg></figure>'


def _series(rows: pd.DataFrame, language: str, label_column: str = "kpi", with_previous: bool = False) -> list[dict]:
    out = []
    for _, row in rows.iterrows():
        label = _label(row, language) if label_column == "kpi" else str(row[label_column])
        item = {"label": label, "value": _num(row["value"]) or 0.0,
                "text": format_value(_num(row["value"]), row["unit"], language)}
        if with_previous:
            item["previous"] = _num(row["previous_value"]) or 0.0
        out.append(item)
    return out


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#1f2933;background:#fff}
h1{font-size:1.6em;margin:0 0 4px} h2{font-size:1.15em;margin:28px 0 8px;border-bottom:2px solid #e4e7eb;padding-bottom:4px}
.meta{color:#616e7c;margin:0 0 12px} table{border-collapse:collapse;width:100%;font-size:.92em;margin:6px 0 10px}
th,td{padding:4px 8px;border-bottom:1px solid #e4e7eb;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px} .chart{margin:0} svg.bars{width:100%;height:auto;display:block}
.met{color:#0e7c3a;font-weight:600} .missed{color:#b42318;font-weight:600} footer{margin-top:28px;color:#7b8794;font-size:.85em}
.empty{color:#7b8794} .legend{font-size:.85em;color:#52606d} .sw{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px}
.sw.cur{background:#2f6fde} .sw.prev{background:#9aa5b1} table th[scope=row]{font-weight:500}
"""

SCRIPT = """
(function(){
  var NS='http://www.w3.org/2000/svg';
  function el(n,a){var e=document.createElementNS(NS,n);for(var k in a){e.setAttribute(k,a[k]);}return e;}
  document.querySelectorAll('svg.bars').forEach(function(svg){
    var s=JSON.parse(svg.getAttribute('data-series'));var rowH=26,w=560,pad=8,longest=0;
    s.forEach(function(d){longest=Math.max(longest,d.label.length);});var labelW=Math.min(380,Math.max(120,longest*7+12));
    var max=0;s.forEach(function(d){max=Math.max(max,Math.abs(d.value),Math.abs(d.previous||0));});
    var h=s.length*rowH+pad*2;svg.setAttribute('viewBox','0 0 '+(labelW+w+110)+' '+h);
    s.forEach(function(d,i){
      var y=pad+i*rowH;var t=el('text',{x:labelW-6,y:y+16,'text-anchor':'end','font-size':12,fill:'#323f4b'});
      t.textContent=d.label;svg.appendChild(t);
      var bw=max>0?Math.max(1,w*Math.abs(d.value)/max):1;
      var hasPrev=('previous' in d);
      var r=el('rect',{x:labelW,y:y+(hasPrev?2:4),width:bw,height:hasPrev?11:16,fill:'#2f6fde','data-value':d.value,'class':'bar'});
      svg.appendChild(r);
      if(hasPrev){var pw=max>0?Math.max(1,w*Math.abs(d.previous)/max):1;
        svg.appendChild(el('rect',{x:labelW,y:y+14,width:pw,height:8,fill:'#9aa5b1','data-value':d.previous,'class':'bar previous'}));}
      var v=el('text',{x:labelW+bw+4,y:y+14,'font-size':11,fill:'#52606d'});v.textContent=d.text;svg.appendChild(v);
    });
    svg.setAttribute('data-rendered','true');svg.setAttribute('data-bars',String(svg.querySelectorAll('rect.bar').length));
  });
  document.body.setAttribute('data-charts-ready','true');
})();
"""


def render_html(snapshot: pd.DataFrame, language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"report language {language!r} is not one of {LANGUAGES}")
    t = TEXT[language]
    week = snapshot["iso_week"].iloc[0]
    snapshot_at = pd.Timestamp(snapshot["snapshot_at"].iloc[0]).strftime("%Y-%m-%d %H:%M UTC")
    total = snapshot[snapshot["dimension"] == "all"].set_index("kpi", drop=False)
    channels = snapshot[snapshot["dimension"] == "channel"]

    def pick(names: list[str]) -> pd.DataFrame:
        return total.loc[[n for n in names if n in total.index]]

    funnel = pick(FUNNEL)
    funnel_counts = funnel[funnel["unit"] == "count"]
    conv = channels[channels["kpi"] == "lead_to_sale_rate_period"].sort_values("dimension_value")
    conv_wide = channels[channels["kpi"].isin(CONVERSION)]
    spend_rows = channels[channels["kpi"].isin(SPEND) & channels["dimension_value"].isin(
        channels[(channels["kpi"] == "ad_spend") & (channels["value"] > 0)]["dimension_value"])]
    slowest = snapshot[snapshot["kpi"] == "slowest_follow_up_hours"].sort_values(
        "value", ascending=False, na_position="first")  # never contacted first
    rejections = snapshot[snapshot["kpi"] == "rejection_reason"].sort_values("value", ascending=False)
    commitments = snapshot[snapshot["dimension"] == "commitment"]
    targets = snapshot[snapshot["target_value"].notna() & (snapshot["dimension"] != "commitment")]

    def wide(rows: pd.DataFrame, kpis: list[str]) -> str:
        if rows.empty:
            return f'<p class="empty">{t["none"]}</p>'
        members = sorted(rows["dimension_value"].unique())
        present = [k for k in kpis if k in set(rows["kpi"])]
        labels = {k: _label(rows[rows["kpi"] == k].iloc[0], language) for k in present}
        head = f"<th>{t['channel']}</th>" + "".join(f"<th>{html.escape(labels[k])}</th>" for k in present)
        body = []
        for member in members:
            cells = ""
            for k in present:
                match = rows[(rows["dimension_value"] == member) & (rows["kpi"] == k)]
                cells += _cell(match.iloc[0], "value", language) if not match.empty else "<td></td>"
            body.append(f"<tr><th scope=\"row\">{html.escape(member)}</th>{cells}</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"

    slow_rows = "".join(
        f"<tr><th scope=\"row\">{html.escape(r['dimension_value'])}</th><td>{html.escape(str(r['detail']))}</td>"
        + (_cell(r, "value", language) if _num(r["value"]) is not None else
           f'<td class="num" data-kpi="slowest_follow_up_hours" data-dimension="lead" data-member="{html.escape(r["dimension_value"])}" data-column="value" data-value="">{t["not_contacted"]}</td>')
        + "</tr>"
        for _, r in slowest.iterrows()
    )
    slow_html = (f"<table><thead><tr><th>{t['lead']}</th><th>{t['channel']}</th><th>h</th></tr></thead>"
                 f"<tbody>{slow_rows}</tbody></table>") if slow_rows else f'<p class="empty">{t["none"]}</p>'

    commitment_rows = "".join(
        f"<tr><th scope=\"row\">{html.escape(r['dimension_value'])}</th>{_cell(r, 'target_value', language)}"
        f"{_cell(r, 'value', language)}<td class=\"{r['detail']}\">{t.get(r['detail'], '')}</td></tr>"
        for _, r in commitments.iterrows()
    )
    commitments_html = (f"<table><thead><tr><th>{t['kpi']}</th><th>{t['target']}</th><th>{t['actual']}</th><th></th></tr>"
                        f"</thead><tbody>{commitment_rows}</tbody></table>") if commitment_rows else f'<p class="empty">{t["none"]}</p>'

    sections = [
        f"<h2>{t['funnel']}</h2>"
        + _chart("chart-funnel", _series(funnel_counts, language, with_previous=True), language)
        + f'<p class="legend"><span class="sw cur"></span>{t["this_week"]} <span class="sw prev"></span>{t["last_week"]}</p>'
        + _table(funnel, [("value", t["this_week"]), ("previous_value", t["last_week"]), ("wow_change", t["change"])],
                 ("kpi", t["kpi"]), language),
        f"<h2>{t['conversion']}</h2>" + _chart("chart-conversion", _series(conv, language, "dimension_value"), language)
        + wide(conv_wide, CONVERSION),
        f"<h2>{t['spend']}</h2>" + _chart("chart-spend", _series(spend_rows[spend_rows["kpi"] == "ad_spend"], language, "dimension_value"), language)
        + wide(spend_rows, SPEND),
        f"<h2>{t['sla']}</h2>" + _table(pick(SLA), [("value", t["this_week"]), ("previous_value", t["last_week"])], ("kpi", t["kpi"]), language)
        + f"<h3>{t['slowest']}</h3>" + slow_html,
        f"<h2>{t['rejections']}</h2>" + _chart("chart-rejections", _series(rejections, language, "dimension_value"), language)
        + _table(rejections, [("value", t["count"])], ("dimension_value", t["reason"]), language),
        f"<h2>{t['commitments']}</h2>" + commitments_html,
        # One scale for counts and money: the chart shows actual as a share of target (100 % = on target).
        f"<h2>{t['targets']}</h2>" + _chart("chart-targets", [
            {"label": _label(r, language) + ("" if r["dimension"] == "all" else f" · {r['dimension_value']}"),
             "value": (_num(r["value"]) or 0.0) / r["target_value"] if r["target_value"] else 0.0,
             "text": format_value((_num(r["value"]) or 0.0) / r["target_value"] if r["target_value"] else None, "ratio", language)}
            for _, r in targets.iterrows()], language)
        + _table(targets, [("target_value", t["target"]), ("value", t["actual"]), ("target_gap", t["gap"])], ("kpi", t["kpi"]), language),
    ]
    return (
        f"<!DOCTYPE html><html lang=\"{language}\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t['title']} {week}</title>"
        f"<style>{CSS}</style></head><body data-week=\"{week}\"><h1>{t['title']}</h1>"
        f"<p class=\"meta\">{t['week']} {week} · {t['snapshot_at']} {snapshot_at}</p>"
        + "".join(f"<section>{s}</section>" for s in sections)
        + f"<footer>{t['footer']}</footer><script>{SCRIPT}</script></body></html>"
    )


def write_report(snapshot: pd.DataFrame, out_root: Path, language: str) -> tuple[Path, Path]:
    """``<out_root>/<iso-week>/report.<lang>.html`` and ``kpis.csv`` (the snapshot rows, as frozen)."""
    week = snapshot["iso_week"].iloc[0]
    folder = out_root / week
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / f"report.{language}.html"
    csv_path = folder / "kpis.csv"
    html_path.write_text(render_html(snapshot, language), encoding="utf-8")
    snapshot.to_csv(csv_path, index=False)
    return html_path, csv_path
