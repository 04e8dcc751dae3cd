//! `parlab.work_span`, `parlab.TaskGraph` and `parlab.fib_join_graph`: the core's work-span
//! analysis, with the arguments narrowed by name and the results as plain Python values.

use parlab_core as core;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::args::{self, Narrow};
use crate::run::RenderRun;
use crate::to_py_err;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".into(), |n| n.to_string())
}

fn cutoff(obj: &Bound<'_, PyAny>) -> PyResult<u32> {
    u32::narrow("cutoff", obj)
}

fn spawn_cost(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    f64::narrow("spawn_cost", obj)
}

fn p(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    usize::narrow("p", obj)
}

fn unit(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    String::narrow("unit", obj)
}

/// An iterable that is not a string, as its items.
fn items<'py>(name: &'static str, obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let wrong = || {
        PyTypeError::new_err(format!(
            "{name}: must be a list (or any iterable), got {}",
            type_name(obj)
        ))
    };
    if obj.is_instance_of::<PyString>() {
        return Err(wrong());
    }
    obj.try_iter().map_err(|_| wrong())?.collect()
}

/// One edge: (from, to) — a `continue` edge — or (from, to, kind).
fn edge(k: usize, obj: &Bound<'_, PyAny>) -> PyResult<core::work_span::Edge> {
    let wrong = || {
        PyTypeError::new_err(format!(
            "edges: edge {k} must be (from, to) or (from, to, kind), got {}",
            type_name(obj)
        ))
    };
    let parts = match obj.cast::<PyTuple>() {
        Ok(t) => t.iter().collect::<Vec<_>>(),
        Err(_) if obj.is_instance_of::<pyo3::types::PyList>() => items("edges", obj)?,
        Err(_) => return Err(wrong()),
    };
    if !(2..=3).contains(&parts.len()) {
        return Err(wrong());
    }
    let kind = match parts.get(2) {
        Some(kind) => String::narrow("edges", kind)?.parse().map_err(to_py_err)?,
        None => core::work_span::EdgeKind::Continue,
    };
    Ok(core::work_span::Edge {
        from: usize::narrow("edges", &parts[0])?,
        to: usize::narrow("edges", &parts[1])?,
        kind,
    })
}

/// A task graph: nodes 0..n with their work, and edges (from, to, kind) where kind is
/// "spawn", "join" or "continue". `parlab.work_span(graph)` analyses it.
#[pyclass(frozen, module = "parlab", name = "TaskGraph")]
#[derive(Clone)]
pub struct TaskGraph(pub core::TaskGraph);

#[pymethods]
impl TaskGraph {
    /// work: one number ≥ 0 per node; edges: (from, to) or (from, to, kind) pairs of node
    /// numbers ((from, to) is a "continue" edge); labels: one string per node, or None;
    /// unit: what the work counts ("fib calls", "iterations", "CPU seconds").
    #[new]
    #[pyo3(
        signature = (work, edges, labels = None, unit = "work".to_string()),
        text_signature = "(work, edges, labels=None, unit='work')"
    )]
    fn new(
        work: &Bound<'_, PyAny>,
        edges: &Bound<'_, PyAny>,
        labels: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = unit)] unit: String,
    ) -> PyResult<Self> {
        let work = items("work", work)?
            .iter()
            .map(|w| f64::narrow("work", w))
            .collect::<PyResult<Vec<f64>>>()?;
        let edges = items("edges", edges)?
            .iter()
            .enumerate()
            .map(|(k, e)| edge(k, e))
            .collect::<PyResult<Vec<_>>>()?;
        let labels = match labels {
            Some(labels) if !labels.is_none() => items("labels", labels)?
                .iter()
                .map(|l| String::narrow("labels", l))
                .collect::<PyResult<Vec<_>>>()?,
            _ => Vec::new(),
        };
        core::TaskGraph::from_parts(unit, work, edges, labels)
            .map(TaskGraph)
            .map_err(to_py_err)
    }

    /// Each node's work, in `unit`.
    #[getter]
    fn work(&self) -> Vec<f64> {
        self.0.work().to_vec()
    }

    /// The edges as (from, to, kind) tuples.
    #[getter]
    fn edges(&self) -> Vec<(usize, usize, &'static str)> {
        self.0
            .edges()
            .iter()
            .map(|e| (e.from, e.to, e.kind.name()))
            .collect()
    }

    /// One label per node, or an empty list (graphs too big to draw have none).
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.0.labels().to_vec()
    }

    #[getter]
    fn unit(&self) -> String {
        self.0.unit.clone()
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "TaskGraph({} nodes, {} edges, unit={:?})",
            self.0.len(),
            self.0.edges().len(),
            self.0.unit
        )
    }
}

/// T₁, T∞ and what they imply: the result of `parlab.work_span(source)`.
#[pyclass(frozen, module = "parlab", name = "WorkSpan")]
pub struct WorkSpan(core::WorkSpan);

#[pymethods]
impl WorkSpan {
    /// T₁: the work of every strand (the time on one worker), in `unit`.
    #[getter]
    fn work(&self) -> f64 {
        self.0.work()
    }

    /// T∞: the work along the heaviest path (the time on unboundedly many workers).
    #[getter]
    fn span(&self) -> f64 {
        self.0.span()
    }

    /// T₁ / T∞: more workers than this cannot be kept busy.
    #[getter]
    fn parallelism(&self) -> f64 {
        self.0.parallelism()
    }

    #[getter]
    fn unit(&self) -> String {
        self.0.graph().unit.clone()
    }

    /// The nodes of a heaviest path, first to last.
    #[getter]
    fn critical_path(&self) -> Vec<usize> {
        self.0.critical_path().to_vec()
    }

    /// How many spawn edges the critical path takes.
    #[getter]
    fn spawns_on_critical_path(&self) -> usize {
        self.0.spawns_on_critical_path()
    }

    /// The graph that was analysed.
    #[getter]
    fn graph(&self) -> TaskGraph {
        TaskGraph(self.0.graph().clone())
    }

    /// The span with `spawn_cost` (in `unit`) added for every spawn along the path.
    fn burdened_span(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = spawn_cost)] spawn_cost: f64,
    ) -> PyResult<f64> {
        py.detach(|| self.0.burdened_span(spawn_cost))
            .map_err(to_py_err)
    }

    /// T₁ over the burdened span.
    fn burdened_parallelism(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = spawn_cost)] spawn_cost: f64,
    ) -> PyResult<f64> {
        py.detach(|| self.0.burdened_parallelism(spawn_cost))
            .map_err(to_py_err)
    }

    /// Brent's bounds on the time with `p` workers, in `unit`:
    /// (max(T₁/p, T∞), T₁/p + T∞).
    fn bounds(&self, #[pyo3(from_py_with = p)] p: usize) -> PyResult<(f64, f64)> {
        self.0.bounds(p).map_err(to_py_err)
    }

    /// The speedups T₁/T_p those bounds allow: (T₁/(T₁/p + T∞), min(p, T₁/T∞)).
    fn speedup_bounds(&self, #[pyo3(from_py_with = p)] p: usize) -> PyResult<(f64, f64)> {
        self.0.speedup_bounds(p).map_err(to_py_err)
    }

    fn __repr__(&self) -> String {
        format!(
            "WorkSpan(work={}, span={}, parallelism={:.2}, unit={:?})",
            self.0.work(),
            self.0.span(),
            self.0.parallelism(),
            self.0.graph().unit
        )
    }
}

/// A render's tiles as independent tasks under one fork, each one's work its iterations.
fn render_graph(run: &Bound<'_, PyAny>) -> PyResult<core::TaskGraph> {
    let records = items("source", &run.getattr("records")?)?;
    let mut works = Vec::with_capacity(records.len());
    let mut labels = Vec::with_capacity(records.len());
    for record in &records {
        works.push(record.getattr("iterations")?.extract::<u64>()? as f64);
        labels.push(format!(
            "tile {}",
            record.getattr("task_id")?.extract::<usize>()?
        ));
    }
    core::TaskGraph::independent("iterations", &works, labels).map_err(to_py_err)
}

/// Work, span, parallelism and Brent's bounds of `source`: a finished `parlab.trace`
/// (its calls, who spawned and who joined them, CPU time as work), a `RenderRun` (its
/// tiles under one fork, iterations as work), or a `TaskGraph` (e.g.
/// `parlab.fib_join_graph(n, cutoff)`, fib calls as work).
#[pyfunction]
pub fn work_span(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<WorkSpan> {
    let graph = if let Ok(graph) = source.cast::<TaskGraph>() {
        graph.get().0.clone()
    } else if source.is_instance_of::<RenderRun>() {
        render_graph(source)?
    } else if let Some(method) = source.getattr_opt("task_graph")? {
        let graph = method.call0()?;
        let graph = graph.cast::<TaskGraph>().map_err(|_| {
            PyTypeError::new_err(format!(
                "source: task_graph() must return a parlab.TaskGraph, got {}",
                type_name(&graph)
            ))
        })?;
        graph.get().0.clone()
    } else {
        return Err(PyTypeError::new_err(format!(
            "source: expected a finished parlab.trace, a RenderRun or a TaskGraph \
             (e.g. parlab.fib_join_graph(n, cutoff)), got {}",
            type_name(source)
        )));
    };
    py.detach(|| core::work_span(graph))
        .map(WorkSpan)
        .map_err(to_py_err)
}

/// The task graph of the core's `fib_join(n, cutoff)`: each rayon::join a fork (work 1,
/// its own call) and a join (work 0); below the cutoff one strand of 2·fib(n) − 1 calls.
#[pyfunction]
pub fn fib_join_graph(
    py: Python<'_>,
    #[pyo3(from_py_with = args::n)] n: u32,
    #[pyo3(from_py_with = cutoff)] cutoff: u32,
) -> PyResult<TaskGraph> {
    py.detach(|| core::workloads::fib_join_graph(n, cutoff))
        .map(TaskGraph)
        .map_err(to_py_err)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TaskGraph>()?;
    m.add_class::<WorkSpan>()?;
    m.add_function(wrap_pyfunction!(work_span, m)?)?;
    m.add_function(wrap_pyfunction!(fib_join_graph, m)?)?;
    Ok(())
}
