"""PromQL syntax, checked where a resource is parsed.

A query Prometheus can never run (``sum(rate(x[$window])``, an unclosed parenthesis) is refused when
the resource is applied (the validating webhook) or marks it Invalid (the status backstop), instead of
reaching Prometheus every cycle to be refused there. The parser is promql-parser (GreptimeDB's Rust
parser): a real grammar, not a hand-written approximation of one.

Only the grammar is judged here. Function names are left to the Prometheus that runs the query: the
parser's list trails Prometheus releases and differs between them (``holt_winters`` became
``double_exponential_smoothing`` in 3.0), so an unknown name is not a syntax error.
"""

from __future__ import annotations

import promql_parser

WINDOW_PLACEHOLDER = "$window"
"""Written in indicator queries where the range goes (``rate(x[$window])``). Not ``{{window}}``:
Helm would try to render that."""

_SAMPLE_WINDOW = "5m"
"""What ``$window`` stands for while a query is parsed: any valid range parses the same."""

_UNKNOWN_FUNCTION = "unknown function with name"


def promql_syntax_error(query: str) -> str | None:
    """Why ``query`` is not PromQL, or None when it parses (``$window`` standing for a range)."""
    try:
        promql_parser.parse(query.replace(WINDOW_PLACEHOLDER, _SAMPLE_WINDOW))
    except ValueError as error:
        message = str(error)
        return None if message.startswith(_UNKNOWN_FUNCTION) else message
    return None


def require_promql(query: str) -> str:
    """A pydantic after-validator: the query unchanged, or a ValueError naming the syntax error."""
    problem = promql_syntax_error(query)
    if problem is not None:
        raise ValueError(f"not valid PromQL ({problem}): {query!r}")
    return query


def require_window_query(query: str) -> str:
    """An indicator query: PromQL with the ``$window`` placeholder where its range goes."""
    if WINDOW_PLACEHOLDER not in query:
        raise ValueError(f"must contain the {WINDOW_PLACEHOLDER} placeholder: {query!r}")
    return require_promql(query)
