{#-
    Identity-resolution building blocks (see models/intermediate/_intermediate__models.yml
    and /work/shared/reference/entity-resolution.md for the order of trust).
-#}
{#- Trimmed, lower-cased e-mail address; NULL unless it looks like local@host. -#}
{% macro normalize_email(expression) -%}
    case
        when regexp_matches(lower(trim({{ expression }})), '^[^@\s]+@[^@\s]+$')
        then lower(trim({{ expression }}))
    end
{%- endmacro %}

{#- The host part of an e-mail address: lower-case, after the last "@", no trailing dot. -#}
{% macro email_domain(expression) -%}
    nullif(rtrim(regexp_extract(lower(trim({{ expression }})), '@([^@\s>]+)\s*>?$', 1), '.'), '')
{%- endmacro %}

{#-
    The host of a web address as typed into a CRM: scheme, user info, "www.", port, path,
    query and fragment stripped ("https://www.Acme.co.uk/about" → "acme.co.uk").
-#}
{% macro website_host(expression) -%}
    nullif(
        rtrim(
            regexp_replace(
                regexp_replace(
                    regexp_replace(lower(trim({{ expression }})), '^[a-z][a-z0-9+.-]*://', ''),
                    '^[^/@]*@|[:/?#].*$',
                    '',
                    'g'
                ),
                '^www[0-9]*\.',
                ''
            ),
            '.'
        ),
        ''
    )
{%- endmacro %}

{#-
    The registered domain of a host under the Public Suffix List (seed public_suffix_list,
    generated from tldextract's bundled ICANN snapshot): the public suffix plus one label
    ("mail.megacorp.co.uk" → "megacorp.co.uk"). Follows the PSL algorithm: the longest
    matching rule wins, "*." wildcard rules cover one more label, "!" exception rules
    win over everything and cover one label less, and an unlisted TLD is a suffix of its
    own ("*"). NULL when the host is itself a public suffix. A correlated scalar subquery:
    apply it to distinct hosts (int_identity__domains), not to every row of a large table.
-#}
{% macro registered_domain(host) -%}
    (
        select
            case
                when len(_rd.parts) > _rd.suffix_labels
                then array_to_string(_rd.parts[len(_rd.parts) - _rd.suffix_labels:], '.')
            end
        from
            (
                select
                    _host.parts,
                    coalesce(
                        max(_k.k - 1) filter (where _psl.kind = 'exception'),
                        greatest(
                            1,
                            coalesce(
                                max(
                                    _k.k + case when _psl.kind = 'wildcard' then 1 else 0 end
                                ) filter (where _psl.kind in ('normal', 'wildcard')),
                                1
                            )
                        )
                    ) as suffix_labels
                from (select string_split({{ host }}, '.') as parts) as _host
                cross join unnest(range(1, len(_host.parts) + 1)) as _k(k)
                left join
                    (
                        select
                            case
                                when starts_with(rule, '!')
                                then 'exception'
                                when starts_with(rule, '*.')
                                then 'wildcard'
                                else 'normal'
                            end as kind,
                            regexp_replace(rule, '^(!|\*\.)', '') as base
                        from {{ ref('public_suffix_list') }}
                    ) as _psl
                    on _psl.base = array_to_string(_host.parts[len(_host.parts) - _k.k + 1:], '.')
                group by _host.parts
            ) as _rd
    )
{%- endmacro %}

{#-
    The candidate matching key of a company name (entity-resolution.md): fold to ASCII,
    lower-case, "&" → "and", punctuation dropped, legal words canonicalised (corporation →
    corp, incorporated → inc, company → co, limited → ltd), tokens joined, then trailing
    legal suffixes stripped while at least three characters remain. "MegaCorp, Inc.",
    "Mega Corporation" and "Mega Corp Ltd" → "mega"; "Acme GmbH", "ACME Holdings" → "acme".
    It over-strips on purpose ("Cisco" → "cis"): a key only proposes candidates, which a
    similarity score and a second signal must confirm.
-#}
{% macro company_name_key(expression) -%}
    nullif(
        regexp_replace(
            replace({{ company_name_tokens(expression) }}, ' ', ''),
            '^(.{3,}?)({{ legal_suffix_pattern() }})+$',
            '\1'
        ),
        ''
    )
{%- endmacro %}

{#- The cleaned, canonicalised name as space-separated tokens (before joining). -#}
{% macro company_name_tokens(expression) -%}
    trim(
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(
                        regexp_replace(
                            regexp_replace(
                                regexp_replace(
                                    lower(strip_accents(coalesce({{ expression }}, ''))),
                                    '&',
                                    ' and ',
                                    'g'
                                ),
                                '[^a-z0-9 ]+',
                                '',
                                'g'
                            ),
                            '\bcorporation\b',
                            'corp',
                            'g'
                        ),
                        '\bincorporated\b',
                        'inc',
                        'g'
                    ),
                    '\bcompany\b',
                    'co',
                    'g'
                ),
                '\blimited\b',
                'ltd',
                'g'
            ),
            '\s+',
            ' ',
            'g'
        )
    )
{%- endmacro %}

{#-
    Legal-form suffixes stripped from the end of a joined name key. The seeds' list (corp,
    inc, co, ltd, llc, gmbh, plc, ag, sa, bv, pty, holdings, group) plus the forms the
    regions in our data use once punctuation is gone: "Pte. Ltd." → pte, "K.K." → kk,
    "Ltda." → ltda, "S.A. de C.V." → sadecv, and "(HQ)" → hq.
-#}
{% macro legal_suffix_pattern() -%}
    {{- return(
        "corp|inc|co|ltd|llc|gmbh|plc|ag|sa|bv|pty|holdings|group|pte|kk|ltda|sadecv|hq"
    ) -}}
{%- endmacro %}

{#- Hashed e-mail for BI: SHA-256 of the normalised address (joins without exposing it). -#}
{% macro hash_email(expression) -%} sha256({{ normalize_email(expression) }}) {%- endmacro %}
