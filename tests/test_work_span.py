"""parlab.work_span: work, span and Brent's bounds of task graphs, renders and traces.

Every check here is on counted work or on the graph's shape; where the work is CPU time
(a trace), only sums and orderings are checked, never a duration."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import parlab
from parlab import TaskGraph, fib_join_graph, work_span


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def article_fib(n: int) -> int:
    a, b = 1, 1
    for _ in range(n):
        a, b = b, a + b
    return a


# --- graphs given by hand -----------------------------------------------------------------


def test_a_chain_has_no_parallelism():
    ws = work_span(TaskGraph([1, 2, 3, 4], [(0, 1), (1, 2), (2, 3)]))
    assert (ws.work, ws.span, ws.parallelism) == (10, 10, 1)
    assert ws.critical_path == [0, 1, 2, 3]
    assert ws.bounds(4) == (10, 12.5)
    assert ws.burdened_span(100) == 10  # no spawn, no burden


def test_a_fork_join():
    g = TaskGraph([1, 3, 5, 1], [(0, 1, "spawn"), (0, 2, "spawn"), (1, 3, "join"), (2, 3, "join")], unit="units")
    ws = work_span(g)
    assert (ws.work, ws.span, ws.parallelism) == (10, 7, 10 / 7)
    assert ws.critical_path == [0, 2, 3] and ws.spawns_on_critical_path == 1
    assert ws.unit == "units" and len(ws.graph) == 4
    assert ws.bounds(1) == (10, 17) and ws.bounds(2) == (7, 12)
    assert ws.speedup_bounds(2) == (10 / 12, 10 / 7)
    assert ws.burdened_span(0.5) == 7.5
    assert ws.burdened_parallelism(0.5) == 10 / 7.5


@pytest.mark.parametrize("p", [1, 2, 3, 8, 100])
def test_brent_bounds_bracket_the_ideal(p):
    ws = work_span(fib_join_graph(18, 6))
    low, high = ws.bounds(p)
    assert low == max(ws.work / p, ws.span) and high == ws.work / p + ws.span
    slow, fast = ws.speedup_bounds(p)
    assert slow <= fast <= min(p, ws.parallelism) + 1e-12


@pytest.mark.parametrize("n", [0, 1, 2, 10, 20])
@pytest.mark.parametrize("cutoff", [0, 1, 3, 8, 15, 40])
def test_fib_join_graph_has_the_closed_forms(n, cutoff):
    """Work 2·fib(n) − 1 calls whatever the cutoff; span n − c + 2·fib(c) − 1 above it."""
    ws = work_span(fib_join_graph(n, cutoff))
    c = max(cutoff, 1)
    assert ws.work == 2 * article_fib(n) - 1
    assert ws.span == (n - c + 2 * article_fib(c) - 1 if n > c else 2 * article_fib(n) - 1)
    assert ws.unit == "fib calls"
    assert ws.burdened_span(3) == ws.span + 3 * max(n - c, 0)


def test_fib_parallelism_falls_as_the_cutoff_rises():
    parallelism = [work_span(fib_join_graph(30, c)).parallelism for c in (10, 15, 20, 25, 28, 30)]
    assert parallelism == sorted(parallelism, reverse=True)
    assert parallelism[-1] == 1.0 and parallelism[0] > 10_000


def test_a_small_fib_graph_is_labelled():
    g = fib_join_graph(4, 2)
    assert g.labels[0] == "fib(4)" and "join fib(4)" in g.labels
    assert {kind for *_, kind in g.edges} == {"spawn", "join"}


def test_a_render_is_capped_by_its_most_expensive_tile():
    run = parlab.render(width=120, height=90, tile_w=30, tile_h=30, max_iter=200, threads=2)
    ws = work_span(run)
    iterations = [r.iterations for r in run.records]
    assert ws.work == sum(iterations) and ws.span == max(iterations)
    assert ws.unit == "iterations" and len(ws.graph) == len(iterations) + 2
    assert ws.graph.labels[ws.critical_path[1]] == f"tile {run.records[iterations.index(max(iterations))].task_id}"


# --- bad input ----------------------------------------------------------------------------


def test_bad_input_names_the_parameter():
    ws = work_span(TaskGraph([1], []))
    with pytest.raises(ValueError, match=r"^p: must be at least 1"):
        ws.bounds(0)
    with pytest.raises(TypeError, match=r"^p: must be an integer"):
        ws.bounds(2.5)
    with pytest.raises(ValueError, match=r"^spawn_cost: must be a finite number"):
        ws.burdened_span(-1)
    with pytest.raises(ValueError, match=r"^spawn_cost:"):
        ws.burdened_span(float("nan"))
    with pytest.raises(TypeError, match=r"^spawn_cost: must be a number"):
        ws.burdened_span("1")
    with pytest.raises(TypeError, match=r"^source: expected a finished parlab.trace"):
        work_span(42)
    with pytest.raises(ValueError, match=r"^edges: edge 0 \(0 → 3\) names node 3"):
        TaskGraph([1, 1], [(0, 3)])
    with pytest.raises(ValueError, match=r"^edges: the graph has a cycle"):
        work_span(TaskGraph([1, 1], [(0, 1), (1, 0)]))
    with pytest.raises(ValueError, match=r"^edges: edge 0 goes from node 1 to itself"):
        TaskGraph([1, 1], [(1, 1)])
    with pytest.raises(TypeError, match=r"^edges: edge 1 must be"):
        TaskGraph([1, 1], [(0, 1), 5])
    with pytest.raises(ValueError, match=r"^edges: an edge's kind is"):
        TaskGraph([1, 1], [(0, 1, "fork")])
    with pytest.raises(ValueError, match=r"^work: node 1 has work -1"):
        TaskGraph([1, -1], [])
    with pytest.raises(TypeError, match=r"^work: must be a number"):
        TaskGraph([1, "a"], [])
    with pytest.raises(ValueError, match=r"^labels: one per node"):
        TaskGraph([1, 1], [], labels=["a"])
    with pytest.raises(ValueError, match=r"^n: must be at most 40"):
        fib_join_graph(41, 20)
    with pytest.raises(ValueError, match=r"^cutoff: fib_join.40. with cutoff 2"):
        fib_join_graph(40, 2)
    with pytest.raises(TypeError, match=r"^cutoff: must be an integer"):
        fib_join_graph(20, "5")


def test_an_open_trace_cannot_be_analysed():
    with parlab.trace("open") as t, pytest.raises(ValueError, match=r"^source: trace.'open'. is still open"):
        work_span(t)


# --- traces -------------------------------------------------------------------------------


def test_calls_one_after_another_are_a_chain():
    with parlab.trace("chain") as t:
        f = t.task(fib)
        for _ in range(3):
            f(18)
    ws = work_span(t)
    assert ws.span == pytest.approx(ws.work) and ws.work > 0
    assert ws.unit == "CPU seconds"
    links = t.links()
    assert links["how"].tolist() == ["called"] * 3 and links["parent"].isna().all()


def test_a_nested_call_is_not_counted_twice():
    with parlab.trace("nested") as t:
        inner = t.task(fib)

        def outer(n):
            return inner(n) + inner(n)

        outer = t.task(outer)
        outer(18)
    frame = t.frame
    ws = work_span(t)
    outer_cpu = frame.loc[frame["function"] == "outer", "cpu_s"].item()
    assert ws.work == pytest.approx(outer_cpu, rel=0.1, abs=2e-4)  # not outer + both inners
    assert ws.work < frame["cpu_s"].sum() * 0.75
    links = t.links()
    assert links.loc[1:, "parent"].tolist() == [0, 0] and links.loc[1:, "how"].tolist() == ["called"] * 2


def test_futures_submitted_by_a_call_are_spawned_and_joined_by_it():
    with parlab.trace("pool") as t, ThreadPoolExecutor(2) as pool:
        leaf = t.task(fib)

        def split(n):
            halves = [pool.submit(leaf, n - 1), pool.submit(leaf, n - 2)]
            return sum(h.result() for h in halves)

        split = t.task(split)
        assert split(20) == fib(20)
    links = t.links()
    assert links.loc[0, "function"] == "split"
    assert links.loc[1:, "parent"].tolist() == [0, 0]
    assert links.loc[1:, "how"].tolist() == ["spawned"] * 2
    assert links.loc[1:, "joined_by"].tolist() == [0, 0]
    ws = work_span(t)
    g = ws.graph
    kinds = [kind for *_, kind in g.edges]
    assert kinds.count("spawn") == 2 and kinds.count("join") == 2
    # The critical path runs from split, through its heavier half, back into split.
    path = [g.labels[v] for v in ws.critical_path]
    assert path[0].startswith("trace") and path[-1] == "end of trace"
    assert any(label.startswith("fib #") for label in path)
    assert sum(label.startswith("split #0") for label in path) >= 2
    assert ws.span < ws.work


def test_pool_map_from_the_block_is_a_fork_and_join():
    with parlab.trace("map") as t, ThreadPoolExecutor(2) as pool:
        list(pool.map(t.task(fib), [16] * 6))
    ws = work_span(t)
    g = ws.graph
    assert [kind for *_, kind in g.edges].count("spawn") == 6
    assert [kind for *_, kind in g.edges].count("join") == 6
    assert ws.span == pytest.approx(max(t.frame["cpu_s"]), rel=0.2, abs=2e-4)
    assert ws.parallelism > 1


def test_threads_started_and_joined():
    with parlab.trace("threads") as t:
        f = t.task(fib)

        def run():
            threads = [threading.Thread(target=f, args=(17,)) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        t.task(run)()
    links = t.links()
    assert links.loc[1:, "how"].tolist() == ["spawned"] * 3
    assert links.loc[1:, "joined_by"].tolist() == [0, 0, 0]
    assert work_span(t).parallelism > 1


def test_asyncio_gather_and_task_groups():
    async def leaf(n):
        return fib(n)

    with parlab.trace("asyncio") as t:
        leaf = t.task(leaf)

        async def gathered():
            return await asyncio.gather(leaf(15), leaf(16))

        async def grouped():
            async with asyncio.TaskGroup() as group:
                group.create_task(leaf(15))
                group.create_task(leaf(16))

        asyncio.run(t.task(gathered)())
        asyncio.run(t.task(grouped)())
    links = t.links()
    by = links.groupby("parent")["joined_by"].apply(list).to_dict()
    assert by == {0: [0, 0], 3: [3, 3]}
    assert (links.loc[[1, 2, 4, 5], "how"] == "spawned").all()
    ws = work_span(t)
    assert 0 < ws.span <= ws.work


def test_a_coroutine_awaited_by_another_is_nested_in_it():
    async def inner(n):
        await asyncio.sleep(0)  # two steps: the caller is suspended in between
        return fib(n)

    with parlab.trace("awaited") as t:
        inner = t.task(inner)
        square = t.task(lambda n: n * n)

        async def outer(n):
            a = fib(n)
            b = await inner(n)
            return square(a + b)

        asyncio.run(t.task(outer)(17))
    links = t.links()
    assert links["function"].tolist() == ["outer", "inner", "<lambda>"]
    assert links.loc[1:, "parent"].tolist() == [0, 0] and links.loc[1:, "how"].tolist() == ["called"] * 2
    ws = work_span(t)
    g = ws.graph
    # outer is cut at each call it awaited or made: strand, inner, strand, the lambda, strand.
    labels = g.labels
    chain = [labels[v] for v in ws.critical_path]
    assert [label.split(" ·")[0] for label in chain[1:-1]] == [
        "outer #0", "inner #1", "outer #0", "<lambda> #2", "outer #0",
    ]  # fmt: skip
    assert ws.span == pytest.approx(ws.work)  # one chain: nothing ran at once
    outer_cpu = t.frame.loc[t.frame["function"] == "outer", "cpu_s"].item()
    assert ws.work == pytest.approx(outer_cpu, rel=0.1, abs=2e-4)  # inner is inside outer, once
    first = labels.index("outer #0 · 1/3")
    assert g.work[first] <= outer_cpu  # the strand before inner: fib(17) of outer's own


def test_hooks_are_removed_when_the_block_ends():
    start, result = threading.Thread.start, __import__("concurrent.futures").futures.Future.result
    with parlab.trace("hooks"):
        assert threading.Thread.start is not start
    assert threading.Thread.start is start
    assert __import__("concurrent.futures").futures.Future.result is result


def test_work_span_of_a_trace_is_its_task_graph():
    with parlab.trace("same") as t:
        t.task(fib)(15)
    assert work_span(t).work == sum(t.task_graph().work)


def boom(n):
    raise ValueError(f"no {n}")


def test_a_failing_future_is_joined_too():
    with parlab.trace("failing") as t, ThreadPoolExecutor(1) as pool:
        future = pool.submit(t.task(boom), 3)
        with pytest.raises(ValueError, match="no 3"):
            future.result()
    assert t.frame["error"].tolist() == ["ValueError"]
    ws = work_span(t)
    assert [kind for *_, kind in ws.graph.edges].count("join") == 1


def test_calls_in_other_processes_are_tasks_of_the_block():
    from concurrent.futures import ProcessPoolExecutor

    with parlab.trace("processes") as t, ProcessPoolExecutor(2) as pool:
        assert list(pool.map(t.task(fib), [15, 16, 17])) == [fib(15), fib(16), fib(17)]
    ws = work_span(t)
    assert ws.work == pytest.approx(t.frame["cpu_s"].sum())
    assert ws.span == pytest.approx(t.frame["cpu_s"].max())
    assert sum(label.startswith("fib #") for label in ws.graph.labels) == 3


# --- figures ------------------------------------------------------------------------------


def test_the_figures_render(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from parlab import plots

    graph = fib_join_graph(6, 3)
    fig = plots.brent_bounds(graph, {1: 1.0, 2: 1.5}, processors=4, spawn_cost=2.0)
    fig.savefig(tmp_path / "brent.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "measured"
    fig = plots.task_graph(graph)
    fig.savefig(tmp_path / "graph.png")
    assert "span 8" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match=r"^processors:"):
        plots.brent_bounds(graph, processors=0)
    with pytest.raises(ValueError, match=r"^source: .* too many to draw"):
        plots.task_graph(fib_join_graph(20, 5))
