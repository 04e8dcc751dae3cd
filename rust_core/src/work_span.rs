//! Work and span: why a program stops scaling, read off its own task graph.
//!
//! A [`TaskGraph`] is a DAG of strands (stretches of work with no fork or join inside)
//! joined by edges: a *spawn* edge starts a task, a *join* edge ends one into the strand
//! that waited for it, a *continue* edge goes on in the same task. [`work_span`] turns it
//! into the two numbers of the work-span model (MIT 6.172, OpenCilk's Cilkscale):
//!
//! - the **work** T₁, the sum of every strand's work: the time on one worker;
//! - the **span** T∞, the heaviest path through the graph: the time on infinitely many.
//!
//! Their ratio T₁/T∞ is the **parallelism**: more workers than that cannot help. For `p`
//! workers any greedy scheduler finishes within Brent's bounds
//! max(T₁/p, T∞) ≤ T_p ≤ T₁/p + T∞ ([`WorkSpan::bounds`]). The **burdened span** adds a
//! cost to every spawn on the path, the price of handing a task to another worker: with
//! tiny tasks it, not the span, is what limits the speedup.
//!
//! ```
//! use parlab_core::work_span::{work_span, EdgeKind, TaskGraph};
//!
//! // A fork-join: 1 unit of set-up, two tasks of 3 and 5, 1 unit after the join.
//! let mut g = TaskGraph::new("units");
//! let (fork, a, b, join) = (g.add_node(1.0), g.add_node(3.0), g.add_node(5.0), g.add_node(1.0));
//! g.add_edge(fork, a, EdgeKind::Spawn).unwrap();
//! g.add_edge(fork, b, EdgeKind::Spawn).unwrap();
//! g.add_edge(a, join, EdgeKind::Join).unwrap();
//! g.add_edge(b, join, EdgeKind::Join).unwrap();
//! let ws = work_span(g).unwrap();
//! assert_eq!((ws.work(), ws.span()), (10.0, 7.0));
//! assert_eq!(ws.critical_path(), &[fork, b, join]);
//! assert_eq!(ws.bounds(2).unwrap(), (7.0, 12.0));
//! assert_eq!(ws.burdened_span(0.5).unwrap(), 7.5);
//! ```
//!
//! Work is in the graph's own unit (`unit`): fib calls, a tile's iterations, or seconds
//! of CPU time for a trace. Counted work gives the same numbers on every machine.

use crate::error::{Error, Result};
use crate::timeline::TaskRecord;

/// The most nodes a graph may have (about 80 bytes each while it is analysed).
pub const MAX_NODES: usize = 4_000_000;

/// What an edge means: the analysis only treats spawns specially (their burden).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// The same task goes on (strand to strand).
    Continue,
    /// A task is started: the other end may run on another worker.
    Spawn,
    /// A task ended and the strand at the other end waited for it.
    Join,
}

impl EdgeKind {
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Continue => "continue",
            EdgeKind::Spawn => "spawn",
            EdgeKind::Join => "join",
        }
    }
}

impl std::str::FromStr for EdgeKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "continue" => Ok(EdgeKind::Continue),
            "spawn" => Ok(EdgeKind::Spawn),
            "join" => Ok(EdgeKind::Join),
            _ => Err(Error::invalid(
                "edges",
                format!("an edge's kind is 'spawn', 'join' or 'continue', got {s:?}"),
            )),
        }
    }
}

/// One edge of a [`TaskGraph`]: `from` must finish before `to` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
}

/// A DAG of strands with their work. Nodes are numbered 0, 1, … in the order added.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskGraph {
    /// The unit of the work: "fib calls", "iterations", "CPU seconds" …
    pub unit: String,
    work: Vec<f64>,
    /// One label per node, or none at all (graphs too big to draw carry none).
    labels: Vec<String>,
    edges: Vec<Edge>,
}

impl TaskGraph {
    pub fn new(unit: impl Into<String>) -> Self {
        TaskGraph {
            unit: unit.into(),
            ..Default::default()
        }
    }

    /// A graph from its parts, checked: every work finite and ≥ 0, every edge between
    /// existing nodes and not a loop, labels one per node or none. Cycles are found by
    /// [`work_span`].
    pub fn from_parts(
        unit: impl Into<String>,
        work: Vec<f64>,
        edges: Vec<Edge>,
        labels: Vec<String>,
    ) -> Result<Self> {
        if work.len() > MAX_NODES {
            return Err(Error::invalid(
                "work",
                format!("at most {MAX_NODES} nodes, got {}", work.len()),
            ));
        }
        if let Some((i, w)) = work
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(Error::invalid(
                "work",
                format!("node {i} has work {w}; work is a finite number ≥ 0"),
            ));
        }
        if !labels.is_empty() && labels.len() != work.len() {
            return Err(Error::invalid(
                "labels",
                format!(
                    "one per node ({}) or none, got {}",
                    work.len(),
                    labels.len()
                ),
            ));
        }
        let mut graph = TaskGraph {
            unit: unit.into(),
            work,
            labels,
            edges: Vec::with_capacity(edges.len()),
        };
        for edge in edges {
            graph.add_edge(edge.from, edge.to, edge.kind)?;
        }
        Ok(graph)
    }

    /// `works.len()` independent tasks under one fork, all joined at the end: the fork and
    /// the join are nodes 0 and n + 1, with no work; task i is node i + 1.
    pub fn independent(
        unit: impl Into<String>,
        works: &[f64],
        labels: Vec<String>,
    ) -> Result<Self> {
        let n = works.len();
        let mut work = Vec::with_capacity(n + 2);
        work.push(0.0);
        work.extend_from_slice(works);
        work.push(0.0);
        let labels = if labels.is_empty() {
            labels
        } else {
            let mut all = Vec::with_capacity(n + 2);
            all.push("fork".to_string());
            all.extend(labels);
            all.push("join".to_string());
            all
        };
        let edges = (1..=n)
            .flat_map(|t| {
                [
                    Edge {
                        from: 0,
                        to: t,
                        kind: EdgeKind::Spawn,
                    },
                    Edge {
                        from: t,
                        to: n + 1,
                        kind: EdgeKind::Join,
                    },
                ]
            })
            .collect();
        TaskGraph::from_parts(unit, work, edges, labels)
    }

    /// A render's tiles as independent tasks under one fork, each tile's work its
    /// iterations (the sum of its escape counts: counted, the same on any machine).
    pub fn from_tiles(records: &[TaskRecord]) -> Result<Self> {
        let works: Vec<f64> = records.iter().map(|r| r.iterations as f64).collect();
        let labels = records
            .iter()
            .map(|r| format!("tile {}", r.task_id))
            .collect();
        TaskGraph::independent("iterations", &works, labels)
    }

    /// A new node with this work (unchecked until analysed); its number.
    pub fn add_node(&mut self, work: f64) -> usize {
        self.work.push(work);
        self.work.len() - 1
    }

    /// A new node with a label (a graph has labels on every node or on none).
    pub fn add_labelled(&mut self, work: f64, label: impl Into<String>) -> usize {
        self.labels.push(label.into());
        self.add_node(work)
    }

    /// An edge between two existing nodes (not a loop).
    pub fn add_edge(&mut self, from: usize, to: usize, kind: EdgeKind) -> Result<()> {
        let n = self.work.len();
        let k = self.edges.len();
        if from >= n || to >= n {
            return Err(Error::invalid(
                "edges",
                format!(
                    "edge {k} ({from} → {to}) names node {}, but the nodes are 0..{n}",
                    from.max(to)
                ),
            ));
        }
        if from == to {
            return Err(Error::invalid(
                "edges",
                format!("edge {k} goes from node {from} to itself"),
            ));
        }
        self.edges.push(Edge { from, to, kind });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.work.len()
    }

    pub fn is_empty(&self) -> bool {
        self.work.is_empty()
    }

    pub fn work(&self) -> &[f64] {
        &self.work
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The nodes in an order where every edge goes forward (Kahn's algorithm), or the
    /// error naming a node on a cycle.
    fn topological_order(&self) -> Result<Vec<usize>> {
        let n = self.work.len();
        let mut indegree = vec![0usize; n];
        for e in &self.edges {
            indegree[e.to] += 1;
        }
        let out = self.successors();
        let mut order: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
        let mut next = 0;
        while next < order.len() {
            let v = order[next];
            next += 1;
            for &(to, _) in &out[v] {
                indegree[to] -= 1;
                if indegree[to] == 0 {
                    order.push(to);
                }
            }
        }
        if order.len() < n {
            let stuck = (0..n).find(|&v| indegree[v] > 0).unwrap_or(0);
            return Err(Error::invalid(
                "edges",
                format!(
                    "the graph has a cycle (node {stuck} waits on itself); a task graph is acyclic"
                ),
            ));
        }
        Ok(order)
    }

    /// For every node, its outgoing edges as (to, kind).
    fn successors(&self) -> Vec<Vec<(usize, EdgeKind)>> {
        let mut out = vec![Vec::new(); self.work.len()];
        for e in &self.edges {
            out[e.from].push((e.to, e.kind));
        }
        out
    }

    /// The heaviest path when every spawn edge costs `spawn_cost`: its weight and its
    /// nodes, from a source to a sink. `order` is a topological order.
    fn heaviest_path(&self, order: &[usize], spawn_cost: f64) -> (f64, Vec<usize>) {
        let n = self.work.len();
        let out = self.successors();
        // best[v]: the heaviest path ending with v (v's work included); from[v]: its predecessor.
        let mut best: Vec<f64> = self.work.clone();
        let mut from = vec![usize::MAX; n];
        for &v in order {
            for &(to, kind) in &out[v] {
                let cost = if kind == EdgeKind::Spawn {
                    spawn_cost
                } else {
                    0.0
                };
                let through = best[v] + cost + self.work[to];
                // Ties go to the first predecessor: a path begins at a source, even one with no work.
                if through > best[to] || (from[to] == usize::MAX && through >= best[to]) {
                    best[to] = through;
                    from[to] = v;
                }
            }
        }
        // The path ends at a sink (a node no edge leaves), the first of the heaviest.
        let is_sink: Vec<bool> = out.iter().map(Vec::is_empty).collect();
        let Some(end) = (0..n)
            .filter(|&v| is_sink[v])
            .max_by(|&a, &b| best[a].total_cmp(&best[b]).then(b.cmp(&a)))
        else {
            return (0.0, Vec::new());
        };
        let mut path = vec![end];
        while from[*path.last().unwrap_or(&end)] != usize::MAX {
            path.push(from[*path.last().unwrap_or(&end)]);
        }
        path.reverse();
        (best[end], path)
    }
}

/// T₁, T∞ and what they imply for a [`TaskGraph`] (see the module's doc).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkSpan {
    graph: TaskGraph,
    order: Vec<usize>,
    work: f64,
    span: f64,
    critical_path: Vec<usize>,
}

/// Analyses `graph`: its work, span and critical path. An error names a cycle.
pub fn work_span(graph: TaskGraph) -> Result<WorkSpan> {
    if let Some((i, w)) = graph
        .work
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        return Err(Error::invalid(
            "work",
            format!("node {i} has work {w}; work is a finite number ≥ 0"),
        ));
    }
    if !graph.labels.is_empty() && graph.labels.len() != graph.work.len() {
        return Err(Error::invalid("labels", "one per node or none"));
    }
    let order = graph.topological_order()?;
    let work = graph.work.iter().sum();
    let (span, critical_path) = graph.heaviest_path(&order, 0.0);
    Ok(WorkSpan {
        graph,
        order,
        work,
        span,
        critical_path,
    })
}

impl WorkSpan {
    /// T₁: the work of every strand, in the graph's unit.
    pub fn work(&self) -> f64 {
        self.work
    }

    /// T∞: the heaviest path's work.
    pub fn span(&self) -> f64 {
        self.span
    }

    /// T₁ / T∞: the most workers that can be kept busy on average (1 for an empty graph
    /// or one without work, which nothing can speed up).
    pub fn parallelism(&self) -> f64 {
        if self.span > 0.0 {
            self.work / self.span
        } else {
            1.0
        }
    }

    /// The nodes of a heaviest path, from its first strand to its last.
    pub fn critical_path(&self) -> &[usize] {
        &self.critical_path
    }

    pub fn graph(&self) -> &TaskGraph {
        &self.graph
    }

    /// How many spawn edges the critical path takes.
    pub fn spawns_on_critical_path(&self) -> usize {
        let on_path: std::collections::HashSet<(usize, usize)> = self
            .critical_path
            .windows(2)
            .map(|w| (w[0], w[1]))
            .collect();
        self.graph
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Spawn && on_path.contains(&(e.from, e.to)))
            .count()
    }

    /// The span when every spawn costs `spawn_cost` more (in the work's unit): the
    /// heaviest path with those costs added, which may be another path than the span's.
    pub fn burdened_span(&self, spawn_cost: f64) -> Result<f64> {
        if !(spawn_cost.is_finite() && spawn_cost >= 0.0) {
            return Err(Error::invalid(
                "spawn_cost",
                format!("must be a finite number ≥ 0, got {spawn_cost}"),
            ));
        }
        if spawn_cost == 0.0 {
            return Ok(self.span);
        }
        Ok(self.graph.heaviest_path(&self.order, spawn_cost).0)
    }

    /// T₁ over the burdened span: the parallelism left once spawning costs something.
    pub fn burdened_parallelism(&self, spawn_cost: f64) -> Result<f64> {
        let span = self.burdened_span(spawn_cost)?;
        Ok(if span > 0.0 { self.work / span } else { 1.0 })
    }

    /// Brent's bounds on the time T_p of a greedy scheduler with `p` workers, in the
    /// work's unit: (max(T₁/p, T∞), T₁/p + T∞).
    pub fn bounds(&self, p: usize) -> Result<(f64, f64)> {
        let p = check_workers(p)?;
        let share = self.work / p;
        Ok((share.max(self.span), share + self.span))
    }

    /// The speedups T₁/T_p those bounds allow: (T₁/(T₁/p + T∞), min(p, T₁/T∞)).
    pub fn speedup_bounds(&self, p: usize) -> Result<(f64, f64)> {
        let (fastest, slowest) = self.bounds(p)?;
        if self.work == 0.0 {
            return Ok((1.0, 1.0));
        }
        Ok((self.work / slowest, self.work / fastest))
    }
}

fn check_workers(p: usize) -> Result<f64> {
    if p == 0 {
        return Err(Error::invalid("p", "must be at least 1 worker, got 0"));
    }
    Ok(p as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(works: &[f64]) -> TaskGraph {
        let mut g = TaskGraph::new("units");
        for (i, &w) in works.iter().enumerate() {
            g.add_node(w);
            if i > 0 {
                g.add_edge(i - 1, i, EdgeKind::Continue).unwrap();
            }
        }
        g
    }

    #[test]
    fn a_chain_has_no_parallelism() {
        let ws = work_span(chain(&[1.0, 2.0, 3.0, 4.0])).unwrap();
        assert_eq!((ws.work(), ws.span(), ws.parallelism()), (10.0, 10.0, 1.0));
        assert_eq!(ws.critical_path(), &[0, 1, 2, 3]);
        assert_eq!(ws.bounds(4).unwrap(), (10.0, 12.5));
        assert_eq!(
            ws.burdened_span(100.0).unwrap(),
            10.0,
            "no spawn, no burden"
        );
    }

    #[test]
    fn independent_tasks_are_capped_by_the_largest() {
        let g = TaskGraph::independent("iterations", &[4.0, 1.0, 9.0, 2.0], Vec::new()).unwrap();
        let ws = work_span(g).unwrap();
        assert_eq!((ws.work(), ws.span()), (16.0, 9.0));
        assert_eq!(ws.critical_path(), &[0, 3, 5]);
        assert_eq!(ws.spawns_on_critical_path(), 1);
        assert_eq!(ws.bounds(1).unwrap(), (16.0, 25.0));
        assert_eq!(ws.bounds(2).unwrap(), (9.0, 17.0));
        assert_eq!(ws.speedup_bounds(8).unwrap(), (16.0 / 11.0, 16.0 / 9.0));
        assert_eq!(ws.burdened_span(1.5).unwrap(), 10.5);
    }

    #[test]
    fn burden_can_move_the_critical_path() {
        // Path a: one heavy strand (10) after a spawn; path b: three spawns of 3 each.
        let mut g = TaskGraph::new("units");
        let s = g.add_node(0.0);
        let a = g.add_node(10.0);
        let (b1, b2, b3) = (g.add_node(3.0), g.add_node(3.0), g.add_node(3.0));
        g.add_edge(s, a, EdgeKind::Spawn).unwrap();
        g.add_edge(s, b1, EdgeKind::Spawn).unwrap();
        g.add_edge(b1, b2, EdgeKind::Spawn).unwrap();
        g.add_edge(b2, b3, EdgeKind::Spawn).unwrap();
        let ws = work_span(g).unwrap();
        assert_eq!(ws.span(), 10.0);
        assert_eq!(ws.burdened_span(1.0).unwrap(), 12.0);
        assert_eq!(ws.burdened_span(0.5).unwrap(), 10.5);
        assert!((ws.burdened_parallelism(1.0).unwrap() - 19.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn brent_bounds_hold_for_a_greedy_schedule() {
        // The fork-join of the module's doc on 2 workers: any greedy schedule takes 7.
        let g = TaskGraph::independent("units", &[3.0, 5.0], Vec::new()).unwrap();
        let ws = work_span(g).unwrap();
        let (low, high) = ws.bounds(2).unwrap();
        assert!(low <= 5.0 && 5.0 <= high, "{low} ≤ 5 ≤ {high}");
    }

    #[test]
    fn bad_graphs_are_refused_by_name() {
        let err = |r: Result<_>| r.map(|_: WorkSpan| ()).unwrap_err().to_string();
        let mut g = chain(&[1.0, 1.0]);
        assert!(g
            .add_edge(0, 5, EdgeKind::Join)
            .unwrap_err()
            .to_string()
            .starts_with("edges: edge 1 (0 → 5)"));
        assert!(g
            .add_edge(1, 1, EdgeKind::Join)
            .unwrap_err()
            .to_string()
            .contains("to itself"));
        g.add_edge(1, 0, EdgeKind::Continue).unwrap();
        assert!(err(work_span(g)).starts_with("edges: the graph has a cycle"));
        let bad = TaskGraph::from_parts("u", vec![1.0, -2.0], Vec::new(), Vec::new());
        assert!(bad
            .unwrap_err()
            .to_string()
            .starts_with("work: node 1 has work -2"));
        let nan = TaskGraph::from_parts("u", vec![f64::NAN], Vec::new(), Vec::new());
        assert!(nan.unwrap_err().to_string().starts_with("work: node 0"));
        let labels =
            TaskGraph::from_parts("u", vec![1.0], Vec::new(), vec!["a".into(), "b".into()]);
        assert!(labels.unwrap_err().to_string().starts_with("labels:"));
        let ws = work_span(chain(&[1.0])).unwrap();
        assert!(ws.bounds(0).unwrap_err().to_string().starts_with("p:"));
        assert!(ws
            .burdened_span(-1.0)
            .unwrap_err()
            .to_string()
            .starts_with("spawn_cost:"));
        assert!(ws
            .burdened_span(f64::INFINITY)
            .unwrap_err()
            .to_string()
            .starts_with("spawn_cost:"));
        assert!("fork"
            .parse::<EdgeKind>()
            .unwrap_err()
            .to_string()
            .starts_with("edges:"));
    }

    #[test]
    fn an_empty_graph_has_nothing_to_do() {
        let ws = work_span(TaskGraph::new("units")).unwrap();
        assert_eq!((ws.work(), ws.span(), ws.parallelism()), (0.0, 0.0, 1.0));
        assert!(ws.critical_path().is_empty());
        assert_eq!(ws.speedup_bounds(3).unwrap(), (1.0, 1.0));
    }

    #[test]
    fn tiles_become_independent_tasks() {
        let tile = crate::tiles::Tile::new(7, 0, 0, 2, 2);
        let clock = crate::timeline::RunClock::start();
        let now = clock.started();
        let records = [
            TaskRecord::new(&tile, 0, &clock, now, now, 40, None),
            TaskRecord::new(&tile, 1, &clock, now, now, 100, None),
        ];
        let ws = work_span(TaskGraph::from_tiles(&records).unwrap()).unwrap();
        assert_eq!((ws.work(), ws.span()), (140.0, 100.0));
        assert_eq!(ws.graph().labels()[1], "tile 7");
        assert_eq!(ws.graph().unit, "iterations");
    }
}
