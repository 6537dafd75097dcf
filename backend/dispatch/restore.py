"""Node sequences handed to OR-Tools as an assignment, leaving out the routes it refuses."""

from __future__ import annotations

from typing import Any

from backend.dispatch.ortools_model import Model


def restore(m: Model, seqs: list[list[int]]) -> tuple[Any, list[int]]:
    """The routes as an assignment (a copy), leaving out routes OR-Tools refuses, and the
    vehicles whose routes it refused (their stops start unperformed: a rule the repair does
    not know of, worth finding).

    Routes are independent of each other in the model (pairs and pins stay on
    one vehicle), so the refused ones are found by halving the set of vehicles.
    None if even that fails (the solve then starts cold).
    """
    routing, manager = m.routing, m.manager
    routes = [[manager.NodeToIndex(n) for n in seq] for seq in seqs]

    def read(vis: set[int]) -> Any:
        return routing.ReadAssignmentFromRoutes([routes[vi] if vi in vis else [] for vi in range(len(routes))], True)

    used = [vi for vi, r in enumerate(routes) if r]
    restored = read(set(used))
    refused: list[int] = []
    if restored is None:

        def halve(vis: list[int], known_bad: bool) -> None:
            if not known_bad and read(set(vis)) is not None:
                return
            if len(vis) == 1:
                refused.append(vis[0])
                return
            half = len(vis) // 2
            halve(vis[:half], False)
            halve(vis[half:], False)

        halve(used, True)
        restored = read(set(used) - set(refused))
    # a copy: the model's own assignment is reused by later solves
    return (None if restored is None else routing.solver().Assignment(restored)), refused
