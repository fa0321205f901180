"""Graded relevance measures for the search quality test (and for trying changes by hand).

The judged cases are the demo's 52 and ``data/cases_extra.json`` (Icelandic and Nynorsk
cases, which the demo lacks).

.venv/bin/python -m tests.search_eval      # prints nDCG@10 and recall@10 per query
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
QUERY_FILES = ("queries.json", "queries_extra.json", "queries_languages.json")
EXTRA_CASES = DATA / "cases_extra.json"


@dataclass
class Score:
    id: str
    query: str
    cross_language: bool
    language: str
    ndcg: float
    recall: float


def load_extra_cases() -> None:
    """Publish the judged cases the demo does not have (inside an app context)."""
    from kb.services.exchange.importer import import_plan, plan_import

    import_plan(plan_import(json.loads(EXTRA_CASES.read_text("utf-8"))))


def load_queries() -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = []
    for name in QUERY_FILES:
        path = DATA / name
        if path.exists():
            queries += json.loads(path.read_text("utf-8"))
    return queries


def ndcg_at_10(ranked: list[str], judged: dict[str, int]) -> float:
    dcg = sum((2 ** judged.get(ref, 0) - 1) / math.log2(i + 2) for i, ref in enumerate(ranked[:10]))
    ideal = sorted(judged.values(), reverse=True)[:10]
    idcg = sum((2**rel - 1) / math.log2(i + 2) for i, rel in enumerate(ideal))
    return dcg / idcg if idcg else 1.0


def recall_at_10(ranked: list[str], judged: dict[str, int]) -> float:
    relevant = {ref for ref, rel in judged.items() if rel > 0}
    if not relevant:
        return 1.0
    return len(relevant & set(ranked[:10])) / min(len(relevant), 10)


def evaluate(client: Any) -> list[Score]:
    """Ask the search API every judged query the way a user would."""
    scores = []
    for item in load_queries():
        params: dict[str, Any] = {"q": item["query"], "per_page": 10}
        if not item["cross_language"]:
            params["language"] = item["language"]
        data = client.get("/api/v1/search", query_string=params).get_json()
        ranked = [hit["ref"] for hit in data["results"]]
        scores.append(
            Score(
                item["id"],
                item["query"],
                item["cross_language"],
                item["language"],
                ndcg_at_10(ranked, item["relevant"]),
                recall_at_10(ranked, item["relevant"]),
            )
        )
    return scores


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def report(scores: list[Score]) -> str:
    lines = [
        f"{s.id:5} {'X' if s.cross_language else ' '} nDCG={s.ndcg:.3f} "
        f"recall={s.recall:.3f}  {s.query}"
        for s in scores
    ]
    for label, cross in (("same-language", False), ("cross-language", True)):
        part = [s for s in scores if s.cross_language == cross]
        lines.append(
            f"{label}: {len(part)} queries, nDCG@10={mean([s.ndcg for s in part]):.3f}, "
            f"recall@10={mean([s.recall for s in part]):.3f}"
        )
        for language in sorted({s.language for s in part}):
            mine = [s for s in part if s.language == language]
            lines.append(
                f"  {language}: {len(mine)} queries, nDCG@10={mean([s.ndcg for s in mine]):.3f}, "
                f"recall@10={mean([s.recall for s in mine]):.3f}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    import tempfile

    from kb import create_app
    from kb.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"INSTANCE_PATH": tmp, "TESTING": True})
        runner = app.test_cli_runner()
        for command in (["init"], ["demo"]):
            result = runner.invoke(main, command)
            assert result.exit_code == 0, result.output
        with app.app_context():
            load_extra_cases()
            print(report(evaluate(app.test_client())))
