"""MongoDB's query planner rules, enough of them to say whether an index serves a query.

No mongod runs on the development machines, so the suite reasons the way the planner does
(the manual's "Use Indexes to Sort Query Results" and the ESR rule, and the planner's own
`explodeForSort`):

- A predicate on a field is a point (equality, or `$eq`), several points (`$in`), a range
  (`$gt`, `$gte`, `$lt`, `$lte`) or something the index bounds cannot use (anything else:
  `$ne`, `$exists`, `$expr`, `$or` ...), which is filtered after the scan.
- An index is usable when its first key has a point or a range in the query; a partial index
  only when the query implies its filter (each field of the filter is an equality to the same
  value in the query). `_id` equality is always served (the `_id_` index).
- The leading keys of the index with points in the query form its point prefix. A sort is
  served when the sort keys follow the prefix in the index, in order, all in the index's
  direction or all reversed (sort keys with an equality in the query can be left out, and an
  equality-bound key of the index may sit between sort keys). When the prefix has an `$in`,
  the planner "explodes" it into one scan per combination of points and merges them in order
  (SORT_MERGE), up to 200 scans; the sort keys must then follow the prefix directly.
- A range field must be in the index: one that sits between the prefix and the sort keys
  breaks the sort (a blocking SORT); one that is itself a sort key keeps the order.
- An aggregation must start with a `$match` (and `$sort`) that an index serves.

`plan()` picks, among the usable indexes, one that serves the query without a blocking sort,
preferring the longest point prefix; `served` is False, with the reason, when none does.
"""

from dataclasses import dataclass, field
from math import prod
from typing import Any

MAX_SCANS_TO_EXPLODE = 200  # internalQueryMaxScansToExplode
RANGE_OPERATORS = {"$gt", "$gte", "$lt", "$lte"}


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[tuple[str, int], ...]
    partial: dict | None = None

    @classmethod
    def from_model(cls, model: Any) -> "Index":
        document = model.document
        return cls(
            document["name"],
            tuple((name, int(direction)) for name, direction in document["key"].items()),
            document.get("partialFilterExpression"),
        )


ID_INDEX = Index("_id_", (("_id", 1),))


@dataclass(frozen=True)
class Predicate:
    kind: str  # "point", "in", "range", "other"
    points: int = 1
    value: Any = None


@dataclass
class Verdict:
    served: bool
    index: str | None
    how: str
    residual: list[str] = field(default_factory=list)


def predicates(query: dict) -> dict[str, Predicate]:
    """What each field of a query filter gives the index bounds."""
    found: dict[str, Predicate] = {}
    for key, value in query.items():
        if key == "$and":
            for part in value:
                found.update(predicates(part))
        elif key.startswith("$"):
            found[key] = Predicate("other")
        else:
            found[key] = _predicate(value)
    return found


def _predicate(value: Any) -> Predicate:
    if not isinstance(value, dict) or not any(str(k).startswith("$") for k in value):
        return Predicate("point", 1, value)
    operators = set(value)
    if operators == {"$eq"}:
        return Predicate("point", 1, value["$eq"])
    if operators == {"$in"} and isinstance(value["$in"], list | tuple) and value["$in"]:
        values = list(value["$in"])
        if len(values) == 1:
            return Predicate("point", 1, values[0])
        return Predicate("in", len(values), values)
    if operators <= RANGE_OPERATORS:
        return Predicate("range")
    return Predicate("other")


def implies(query: dict[str, Predicate], partial: dict | None) -> bool:
    """Whether every document the query matches is in the partial index."""
    if not partial:
        return True
    for name, wanted in partial.items():
        got = query.get(name)
        if got is None:
            return False
        if isinstance(wanted, dict) and set(wanted) == {"$exists"} and wanted["$exists"]:
            if got.kind == "other" or (got.kind == "point" and got.value is None):
                return False
            continue
        if got.kind != "point" or got.value != wanted:
            return False
    return True


def plan(query: dict | None, sort: list | None, indexes: list[Index]) -> Verdict:
    query = query or {}
    preds = predicates(query)
    sort_keys = [(name, int(direction)) for name, direction in (sort or [])]
    if preds.get("_id", Predicate("other")).kind == "point":
        return Verdict(True, ID_INDEX.name, "_id_ (an _id equality: one document at most)")
    reasons = []
    best: tuple[int, Verdict] | None = None
    for index in [ID_INDEX, *indexes]:
        verdict, prefix = _evaluate(index, preds, sort_keys)
        if not verdict.served:
            reasons.append(f"{index.name}: {verdict.how}")
            continue
        if best is None or prefix > best[0]:
            best = (prefix, verdict)
    if best is not None:
        return best[1]
    return Verdict(False, None, "no index serves it: " + "; ".join(reasons))


def _evaluate(
    index: Index, preds: dict[str, Predicate], sort_keys: list[tuple[str, int]]
) -> tuple[Verdict, int]:
    fields = [name for name, _ in index.keys]
    if not implies(preds, index.partial):
        return Verdict(False, index.name, "the query does not imply its partial filter"), 0
    first = preds.get(fields[0])
    if first is None or first.kind == "other":
        return Verdict(False, index.name, f"no bounds on its first key {fields[0]}"), 0
    prefix = 0
    for name in fields:
        pred = preds.get(name)
        if pred is None or pred.kind not in ("point", "in"):
            break
        prefix += 1
    scans = prod(preds[name].points for name in fields[:prefix])
    residual = [name for name in preds if name not in fields]
    missing_ranges = [name for name in residual if preds[name].kind == "range"]
    if missing_ranges:
        return Verdict(False, index.name, f"range on {missing_ranges} not in the index"), prefix
    if scans > MAX_SCANS_TO_EXPLODE:
        return Verdict(False, index.name, f"{scans} point combinations"), prefix
    how = f"IXSCAN {index.name}"
    if sort_keys:
        provided = _sort_from_index(index, preds, prefix, sort_keys, exploded=scans > 1)
        if provided is None:
            return Verdict(False, index.name, "blocking SORT: the index does not give the order"), 0
        how += provided
    return Verdict(True, index.name, how, residual), prefix


def _sort_from_index(
    index: Index,
    preds: dict[str, Predicate],
    prefix: int,
    sort_keys: list[tuple[str, int]],
    *,
    exploded: bool,
) -> str | None:
    """How the index gives the sort (a suffix for the verdict), or None when it cannot."""
    wanted = sort_keys
    if not exploded:  # sort keys bound to one value are already in order
        wanted = [(n, d) for n, d in sort_keys if preds.get(n, Predicate("other")).kind != "point"]
        if not wanted:
            return " (sort keys all bound to one value)"
    following = list(index.keys[prefix:])
    if not exploded:  # equality-bound keys between the sort keys do not change the order
        following = [(n, d) for n, d in following if preds.get(n, Predicate("x")).kind != "point"]
    head = following[: len(wanted)]
    if [n for n, _ in head] != [n for n, _ in wanted]:
        return None
    same = all(d == w for (_, d), (_, w) in zip(head, wanted, strict=True))
    reversed_ = all(d == -w for (_, d), (_, w) in zip(head, wanted, strict=True))
    if not (same or reversed_):
        return None
    direction = "forward" if same else "backward"
    if exploded:
        scans = prod(preds[name].points for name, _ in index.keys[:prefix])
        return f", SORT_MERGE of {scans} scans {direction}"
    return f", order from the index ({direction})"


def plan_pipeline(pipeline: list[dict], indexes: list[Index]) -> Verdict:
    """An aggregation is served when it starts with a $match (and $sort) an index serves."""
    if not pipeline or "$match" not in pipeline[0]:
        return Verdict(False, None, "the pipeline does not start with $match")
    sort = None
    if len(pipeline) > 1 and "$sort" in pipeline[1]:
        sort = list(pipeline[1]["$sort"].items())
    return plan(pipeline[0]["$match"], sort, indexes)


def shape(value: Any) -> Any:
    """A query with its values replaced by `?` (operators, fields and list lengths kept)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if value and all(not isinstance(v, dict | list) for v in value):
            return f"[{len(value)} values]"
        return [shape(v) for v in value]
    return "?"
