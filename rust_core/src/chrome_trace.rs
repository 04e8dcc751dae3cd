//! A run as a Chrome trace-event document, the JSON that ui.perfetto.dev and
//! chrome://tracing open: one track per thread, one slice per tile.
//!
//! ```
//! use parlab_core::{render, RenderConfig, Strategy};
//!
//! let config = RenderConfig { width: 64, height: 48, tile_w: 16, tile_h: 16, max_iter: 50,
//!                             strategy: Strategy::Dynamic, threads: Some(2), ..Default::default() };
//! let trace = render(&config).unwrap().to_chrome_trace();
//! // std::fs::write("run.json", trace.to_string())  -- then open it in ui.perfetto.dev
//! assert!(trace["traceEvents"].as_array().unwrap().len() > 12);
//! ```
//!
//! The Python package writes the same document for a `RenderRun` (`parlab.to_trace`).

use serde_json::{json, Value};

use crate::render::RenderRun;

/// Every tile of the run is drawn in this one "process", thread t on track tid t + 1:
/// Perfetto takes tid 0, or a tid equal to the pid, for the process's main thread.
const PID: u64 = 1001;

impl RenderRun {
    /// The run as `{"traceEvents": [...], "displayTimeUnit": "ms"}`: metadata events name
    /// the process (the run's summary line) and each thread ("thread 0", …, on tids 1, …);
    /// each rendered tile is a complete event (`"ph": "X"`) on its thread's track, with
    /// `ts` and `dur` in microseconds since the run started and the tile's work in `args`,
    /// with `cpu_us`, the CPU time its thread got during it (`dur` minus waiting for a CPU).
    pub fn to_chrome_trace(&self) -> Value {
        let threads = self
            .records
            .iter()
            .map(|r| r.thread_id + 1)
            .max()
            .unwrap_or(0)
            .max(self.threads);
        let mut events = vec![meta(
            "process_name",
            None,
            json!({ "name": self.to_string() }),
        )];
        for t in 0..threads {
            events.push(meta(
                "thread_name",
                Some(t + 1),
                json!({ "name": format!("thread {t}") }),
            ));
            events.push(meta(
                "thread_sort_index",
                Some(t + 1),
                json!({ "sort_index": t }),
            ));
        }
        events.extend(self.records.iter().map(|r| {
            json!({
                "name": format!("tile ({}, {})", r.tile_x, r.tile_y),
                "cat": "tile",
                "ph": "X",
                "pid": PID,
                "tid": r.thread_id + 1,
                "ts": r.start_us,
                "dur": r.duration_us,
                "args": {
                    "task_id": r.task_id, "thread_id": r.thread_id,
                    "tile_x": r.tile_x, "tile_y": r.tile_y, "tile_w": r.tile_w, "tile_h": r.tile_h,
                    "pixels": r.pixels, "iterations": r.iterations,
                    // null where the thread's CPU clock could not be read
                    "cpu_us": r.cpu_us,
                },
            })
        }));
        json!({ "traceEvents": events, "displayTimeUnit": "ms" })
    }
}

fn meta(name: &str, tid: Option<usize>, args: Value) -> Value {
    let mut event = json!({ "ph": "M", "name": name, "pid": PID, "args": args });
    if let Some(tid) = tid {
        event["tid"] = json!(tid);
    }
    event
}

#[cfg(test)]
mod tests {
    use crate::{render, RenderConfig, Strategy};

    #[test]
    fn every_tile_is_a_complete_event_on_its_threads_track() {
        let config = RenderConfig {
            width: 120,
            height: 90,
            tile_w: 30,
            tile_h: 30,
            max_iter: 100,
            strategy: Strategy::Interleaved,
            threads: Some(3),
            ..Default::default()
        };
        let run = render(&config).unwrap();
        let trace = run.to_chrome_trace();
        let events = trace["traceEvents"].as_array().unwrap();
        let spans: Vec<_> = events.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(spans.len(), run.total_tiles);
        for record in &run.records {
            let span = spans
                .iter()
                .find(|e| e["args"]["task_id"] == record.task_id)
                .unwrap();
            assert_eq!(span["tid"], record.thread_id + 1);
            assert_eq!(span["ts"].as_f64().unwrap(), record.start_us);
            assert_eq!(span["dur"].as_f64().unwrap(), record.duration_us);
            assert_eq!(span["args"]["iterations"], record.iterations);
            assert_eq!(span["args"]["cpu_us"].as_f64(), record.cpu_us);
        }
        let names: Vec<_> = events
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["thread 0", "thread 1", "thread 2"]);
        let process = events.iter().find(|e| e["name"] == "process_name").unwrap();
        assert_eq!(process["args"]["name"], run.to_string());
        // Strict JSON that parses back to the same events (floats to within rounding:
        // serde_json's default parser is not bit-exact on the last digit).
        let text = trace.to_string();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let again = parsed["traceEvents"].as_array().unwrap();
        assert_eq!(again.len(), events.len());
        for (a, b) in again.iter().zip(events) {
            assert_eq!(a["name"], b["name"]);
            if b["ph"] == "X" {
                let (ta, tb) = (a["ts"].as_f64().unwrap(), b["ts"].as_f64().unwrap());
                assert!((ta - tb).abs() < 1e-6 * tb.max(1.0));
            }
        }
    }
}
