//! How runs and records show themselves: a one-line summary, per-thread totals, and
//! HTML tables for the evcxr Jupyter kernel.
//!
//! evcxr calls a cell's final value's `evcxr_display` method when it has one; whatever it
//! prints between `EVCXR_BEGIN_CONTENT <mime type>` and `EVCXR_END_CONTENT` becomes the
//! cell's output. Without it evcxr would print `{:?}`: for a run, half a million counts.

use std::fmt;

use crate::render::RenderRun;
use crate::timeline::{busy_us, TaskRecord};

/// Prints `content` as a cell output of the given MIME type (evcxr's display protocol).
pub fn evcxr_show(mime: &str, content: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT");
}

/// What one thread did in a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadStats {
    pub thread_id: usize,
    pub tiles: usize,
    pub busy_us: f64,
    /// Time in the run this thread was not rendering (waiting, or done early).
    pub idle_us: f64,
    pub iterations: u64,
}

/// One row per thread of a run (see [`RenderRun::per_thread`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PerThread(pub Vec<ThreadStats>);

/// The records of a run as a table (see [`RenderRun::table`]).
#[derive(Debug, Clone, Copy)]
pub struct RecordTable<'a> {
    pub records: &'a [TaskRecord],
    /// At most this many rows are shown (the first ones, by start time).
    pub rows: usize,
}

impl RenderRun {
    /// Tiles rendered, busy and idle time and work of each thread.
    pub fn per_thread(&self) -> PerThread {
        let busy = busy_us(&self.records, self.threads);
        PerThread(
            busy.iter()
                .enumerate()
                .map(|(thread_id, &busy_us)| {
                    let mine = self.records.iter().filter(|r| r.thread_id == thread_id);
                    ThreadStats {
                        thread_id,
                        tiles: mine.clone().count(),
                        busy_us,
                        idle_us: (self.elapsed_us - busy_us).max(0.0),
                        iterations: mine.map(|r| r.iterations).sum(),
                    }
                })
                .collect(),
        )
    }

    /// The busiest thread's busy time over the average thread's: 1.0 is a perfect
    /// balance, `threads` the worst (one thread did everything). What the run *took*.
    pub fn imbalance(&self) -> f64 {
        max_over_mean(&busy_us(&self.records, self.threads))
    }

    /// The busiest thread's iterations over the average thread's: how unevenly the
    /// schedule shared the *work*, whatever else the machine was doing meanwhile.
    pub fn work_imbalance(&self) -> f64 {
        let work: Vec<f64> = self
            .per_thread()
            .0
            .iter()
            .map(|t| t.iterations as f64)
            .collect();
        max_over_mean(&work)
    }

    /// The first `rows` records (by start time) as a displayable table.
    pub fn table(&self, rows: usize) -> RecordTable<'_> {
        RecordTable {
            records: &self.records,
            rows,
        }
    }

    /// Shows the summary line as a cell's output in evcxr.
    pub fn evcxr_display(&self) {
        evcxr_show("text/plain", &self.to_string());
    }
}

impl fmt::Display for RenderRun {
    /// `RenderRun(dynamic on 2 thread(s), avx512 kernel: 800×600, 192/192 tiles in 9.2 ms)`,
    /// as in Python.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limited = if self.time_limited {
            ", time-limited"
        } else {
            ""
        };
        let shortcut = if self.interior_shortcut {
            " + interior shortcut"
        } else {
            ""
        };
        write!(
            f,
            "RenderRun({} on {} thread(s), {} kernel{shortcut}: {}×{}, {}/{} tiles in {:.1} ms{limited})",
            self.strategy,
            self.threads,
            self.kernel.name(),
            self.width,
            self.height,
            self.completed_tiles(),
            self.total_tiles,
            self.elapsed_us / 1e3
        )
    }
}

impl fmt::Display for TaskRecord {
    /// `TaskRecord(task_id=0, thread_id=1, tile=(0, 0, 50×50), start_us=12.5, ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TaskRecord(task_id={}, thread_id={}, tile=({}, {}, {}×{}), start_us={:.1}, duration_us={:.1}, iterations={})",
            self.task_id,
            self.thread_id,
            self.tile_x,
            self.tile_y,
            self.tile_w,
            self.tile_h,
            self.start_us,
            self.duration_us,
            self.iterations
        )
    }
}

impl PerThread {
    pub fn to_html(&self) -> String {
        let mut html = table_head(&["thread", "tiles", "busy ms", "idle ms", "iterations"]);
        for t in &self.0 {
            html.push_str(&table_row(&[
                t.thread_id.to_string(),
                t.tiles.to_string(),
                format!("{:.1}", t.busy_us / 1e3),
                format!("{:.1}", t.idle_us / 1e3),
                t.iterations.to_string(),
            ]));
        }
        html + "</table>"
    }

    pub fn evcxr_display(&self) {
        evcxr_show("text/html", &self.to_html());
    }
}

impl fmt::Display for PerThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "thread  tiles   busy ms   idle ms")?;
        for t in &self.0 {
            writeln!(
                f,
                "{:>6}  {:>5}  {:>8.1}  {:>8.1}",
                t.thread_id,
                t.tiles,
                t.busy_us / 1e3,
                t.idle_us / 1e3
            )?;
        }
        Ok(())
    }
}

impl RecordTable<'_> {
    pub fn to_html(&self) -> String {
        let mut html = table_head(&[
            "task",
            "thread",
            "x",
            "y",
            "w",
            "h",
            "start µs",
            "µs",
            "pixels",
            "iterations",
        ]);
        for r in self.records.iter().take(self.rows) {
            html.push_str(&table_row(&[
                r.task_id.to_string(),
                r.thread_id.to_string(),
                r.tile_x.to_string(),
                r.tile_y.to_string(),
                r.tile_w.to_string(),
                r.tile_h.to_string(),
                format!("{:.1}", r.start_us),
                format!("{:.1}", r.duration_us),
                r.pixels.to_string(),
                r.iterations.to_string(),
            ]));
        }
        html.push_str("</table>");
        if self.records.len() > self.rows {
            html.push_str(&format!(
                "<p>{} of {} records</p>",
                self.rows.min(self.records.len()),
                self.records.len()
            ));
        }
        html
    }

    pub fn evcxr_display(&self) {
        evcxr_show("text/html", &self.to_html());
    }
}

/// The largest value over the mean (1.0 when there is nothing to share).
fn max_over_mean(values: &[f64]) -> f64 {
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let max = values.iter().copied().fold(0.0, f64::max);
    if mean > 0.0 {
        max / mean
    } else {
        1.0
    }
}

fn table_head(columns: &[&str]) -> String {
    let mut html = String::from("<table><tr>");
    for c in columns {
        html.push_str(&format!("<th style=\"text-align:right\">{c}</th>"));
    }
    html + "</tr>"
}

fn table_row(cells: &[String]) -> String {
    let mut html = String::from("<tr>");
    for c in cells {
        html.push_str(&format!("<td style=\"text-align:right\">{c}</td>"));
    }
    html + "</tr>"
}

#[cfg(test)]
mod tests {
    use crate::{render, RenderConfig, Strategy, TaskRecord};

    fn small_run() -> crate::RenderRun {
        render(&RenderConfig {
            width: 64,
            height: 48,
            tile_w: 16,
            tile_h: 16,
            max_iter: 50,
            strategy: Strategy::Interleaved,
            threads: Some(2),
            kernel: crate::Kernel::Scalar,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn per_thread_adds_up() {
        let run = small_run();
        let stats = run.per_thread();
        assert_eq!(stats.0.len(), 2);
        assert_eq!(stats.0.iter().map(|t| t.tiles).sum::<usize>(), 12);
        assert_eq!(
            stats.0.iter().map(|t| t.iterations).sum::<u64>(),
            run.records.iter().map(|r| r.iterations).sum::<u64>()
        );
        assert!(stats.to_html().matches("<tr>").count() == 3);
    }

    #[test]
    fn imbalance_is_of_time_and_work_imbalance_of_iterations() {
        // Thread 0: 300 µs for 1000 iterations; thread 1: 100 µs for 3000; thread 2 idle.
        let record = |thread_id, duration_us, iterations| TaskRecord {
            task_id: 0,
            thread_id,
            tile_x: 0,
            tile_y: 0,
            tile_w: 1,
            tile_h: 1,
            start_us: 0.0,
            duration_us,
            pixels: 1,
            iterations,
            cpu_us: None,
            lanes: crate::LaneSteps::scalar(iterations),
        };
        let mut run = small_run();
        run.threads = 3;
        run.records = vec![
            record(0, 200.0, 600),
            record(0, 100.0, 400),
            record(1, 100.0, 3000),
        ];
        assert_eq!(run.imbalance(), 300.0 / (400.0 / 3.0));
        assert_eq!(run.work_imbalance(), 3000.0 / (4000.0 / 3.0));
        run.records.clear();
        assert_eq!((run.imbalance(), run.work_imbalance()), (1.0, 1.0));
    }

    #[test]
    fn summary_and_table_read_well() {
        let run = small_run();
        let line = run.to_string();
        assert!(
            line.starts_with(
                "RenderRun(interleaved on 2 thread(s), scalar kernel: 64×48, 12/12 tiles in "
            ),
            "{line}"
        );
        let html = run.table(5).to_html();
        assert_eq!(html.matches("<tr>").count(), 6);
        assert!(html.contains("5 of 12 records"));
    }
}
