"""Sentiment and topic tags for every distinct customer text (int_comment_texts).

* Sentiment: VADER (vaderSentiment), whose lexicon ships inside the package — nothing is
  downloaded at run time. ``sentiment_compound`` is VADER's normalised score in [-1, 1];
  the label follows VADER's own convention: positive ≥ 0.05, negative ≤ -0.05, else
  neutral.
* Topics: the editable taxonomy seed ``comment_topics`` (topic, keyword). A topic is tagged
  when one of its keywords occurs as whole words (case-insensitive); ``primary_topic`` is
  the topic whose keyword occurs first in the text (ties: the longer keyword).

One row per distinct text (``text_hash`` = MD5 of the exact text), so the same template
sentence in a million tickets is scored once. Incremental: a run tags only texts it has not
seen; when the taxonomy changes (``taxonomy_version`` = MD5 of the sorted seed rows) every
text is tagged again.

Why a dbt Python model: dbt-duckdb runs it in-process on the same DuckDB connection, so the
tags are part of `dbt build`, lineage and tests like every other model, and Dagster needs no
separate step.
"""

import hashlib
import re


def _taxonomy(rows):
    keywords = sorted({(topic.strip(), keyword.strip().lower()) for topic, keyword in rows})
    version = hashlib.md5(repr(keywords).encode()).hexdigest()
    patterns = [
        (topic, keyword, re.compile(r"(?<!\w)" + re.escape(keyword) + r"(?!\w)"))
        for topic, keyword in keywords
        if topic and keyword
    ]
    return version, patterns


def tag_text(text, analyzer, patterns):
    """(compound, positive, neutral, negative, label, topics, primary_topic) of one text."""
    scores = analyzer.polarity_scores(text)
    compound = scores["compound"]
    label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
    lowered = text.lower()
    first_hit = {}
    for topic, keyword, pattern in patterns:
        match = pattern.search(lowered)
        if match is None:
            continue
        rank = (match.start(), -len(keyword))
        if topic not in first_hit or rank < first_hit[topic]:
            first_hit[topic] = rank
    topics = sorted(first_hit)
    primary = min(first_hit, key=lambda topic: (first_hit[topic], topic)) if first_hit else None
    return (
        compound,
        scores["pos"],
        scores["neu"],
        scores["neg"],
        label,
        topics,
        primary,
    )


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key="text_hash",
        incremental_strategy="delete+insert",
    )
    import pandas as pd
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    taxonomy_rows = dbt.ref("comment_topics").project("topic, keyword").fetchall()
    version, patterns = _taxonomy(taxonomy_rows)
    texts = dbt.ref("int_comment_texts").project("text_hash, text").distinct()
    if dbt.is_incremental:
        seen = session.sql(f"select text_hash from {dbt.this} where taxonomy_version = '{version}'")
        texts = texts.join(seen, "text_hash", how="anti")
    rows = texts.order("text_hash").fetchall()

    analyzer = SentimentIntensityAnalyzer()
    records = []
    for text_hash, text in rows:
        compound, positive, neutral, negative, label, topics, primary = tag_text(
            text, analyzer, patterns
        )
        records.append(
            {
                "text_hash": text_hash,
                "sentiment_compound": compound,
                "sentiment_positive": positive,
                "sentiment_neutral": neutral,
                "sentiment_negative": negative,
                "sentiment_label": label,
                "topics": topics,
                "primary_topic": primary,
                "taxonomy_version": version,
            }
        )
    columns = [
        "text_hash",
        "sentiment_compound",
        "sentiment_positive",
        "sentiment_neutral",
        "sentiment_negative",
        "sentiment_label",
        "topics",
        "primary_topic",
        "taxonomy_version",
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    session.register("_comment_tags_frame", frame)
    return session.sql(
        """
        select
            cast(text_hash as varchar) as text_hash,
            cast(sentiment_compound as double) as sentiment_compound,
            cast(sentiment_positive as double) as sentiment_positive,
            cast(sentiment_neutral as double) as sentiment_neutral,
            cast(sentiment_negative as double) as sentiment_negative,
            cast(sentiment_label as varchar) as sentiment_label,
            cast(topics as varchar[]) as topics,
            cast(primary_topic as varchar) as primary_topic,
            cast(taxonomy_version as varchar) as taxonomy_version
        from _comment_tags_frame
        """
    )
