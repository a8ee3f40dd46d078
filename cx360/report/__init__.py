"""The CX report: one static HTML page of Plotly charts built from the BI snapshot.

Offline by construction: plotly.js is inlined from the installed ``plotly`` package (no CDN),
fonts are the system's, and every chart's data is embedded in the page. Charts whose marts
are not in the snapshot yet render as a clearly marked placeholder naming the missing mart.

    from cx360.report import build_report
    build_report(Path(".cx360/bi"), Path(".cx360/reports/cx/index.html"))
"""

from cx360.report.build import ReportResult, build_report

__all__ = ["ReportResult", "build_report"]
