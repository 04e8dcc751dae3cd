//! The hardware card: a plain-language summary, and the same rows as text and HTML.

use std::fmt;

use super::HardwareInfo;
use crate::display::evcxr_show;

impl HardwareInfo {
    /// The CPUs this process's threads may run on (its affinity mask, else all online),
    /// whatever its quota: the hard ceiling of a speedup, even over a burst shorter than
    /// the quota's period.
    pub fn runnable_cpus(&self) -> usize {
        self.affinity_cpus.unwrap_or(self.logical_cpus).max(1)
    }

    /// The ceiling a speedup curve can reach here: the CPUs this process may use, within
    /// its quota (a quota of 2.5 CPUs caps speedup at 2.5×), and never below 1.
    pub fn max_speedup(&self) -> f64 {
        let cpus = self.runnable_cpus() as f64;
        self.cpu_quota.map_or(cpus, |q| cpus.min(q)).max(1.0)
    }

    /// What all this means for a speedup curve, in plain language.
    pub fn summary(&self) -> String {
        let n = self.effective_parallelism;
        let visible = self.logical_cpus;
        let cpus = |k: usize| {
            if k == 1 {
                "1 CPU".to_string()
            } else {
                format!("{k} CPUs")
            }
        };
        let mut text = match (self.cpu_quota, self.affinity_cpus) {
            (Some(q), _) if q.ceil() as usize == n && n < visible => format!(
                "This process may use {} (cgroup quota of {q:.2} CPU) although {visible} are visible: \
                 expect no speedup beyond {n} thread{}.",
                cpus(n),
                if n == 1 { "" } else { "s" }
            ),
            (_, Some(a)) if a < visible => format!(
                "This process may run on {} of the {visible} visible (its CPU affinity): expect no \
                 speedup beyond {n} thread{}.",
                cpus(a),
                if n == 1 { "" } else { "s" }
            ),
            _ => format!("This process may use all {} of this machine.", cpus(visible)),
        };
        if n == 1 {
            text.push_str(
                " With one CPU, threads take turns: parallel runs are no faster, only concurrent.",
            );
        } else if let (Some(cores), Some(tpc)) = (self.physical_cores, self.threads_per_core) {
            if tpc > 1 {
                text.push_str(&format!(
                    " They are {cores} physical cores with {tpc} hardware threads each: CPU-bound work such as \
                     the Mandelbrot kernel gains little from the second thread of a core, so expect close to \
                     {}× rather than {n}×.",
                    cores.min(n)
                ));
            } else {
                text.push_str(&format!(
                    " Expect CPU-bound work to speed up by at most about {:.1}×.",
                    self.max_speedup()
                ));
            }
        } else {
            text.push_str(&format!(
                " Expect CPU-bound work to speed up by at most about {:.1}×.",
                self.max_speedup()
            ));
        }
        if let Some(py) = &self.python {
            if py.gil_enabled != Some(false) {
                text.push_str(
                    " Python's GIL is on: threads running pure Python take turns, so they help with waiting (I/O), \
                     not computing; parlab's Rust renderers release the GIL.",
                );
            } else {
                text.push_str(" Python's GIL is off: Python threads can compute in parallel.");
            }
        }
        text
    }

    /// The card as (section, label, value) rows, shared by the text and HTML views.
    pub fn rows(&self) -> Vec<(&'static str, String, String)> {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "—".to_string());
        let count = |v: Option<usize>| opt(v.map(|n| n.to_string()));
        let mhz = |v: Option<f64>| opt(v.map(|m| format!("{m:.0} MHz")));
        let mut rows = vec![
            ("CPU", "model".into(), opt(self.cpu_model.clone())),
            (
                "CPU",
                "vendor / architecture".into(),
                format!("{} / {}", opt(self.cpu_vendor.clone()), self.architecture),
            ),
            (
                "CPU",
                "logical CPUs (hardware threads)".into(),
                self.logical_cpus.to_string(),
            ),
            ("CPU", "physical cores".into(), count(self.physical_cores)),
            (
                "CPU",
                "threads per core (SMT)".into(),
                count(self.threads_per_core),
            ),
            (
                "CPU",
                "sockets / NUMA nodes".into(),
                format!("{} / {}", count(self.sockets), count(self.numa_nodes)),
            ),
            (
                "CPU",
                "frequency base / max / now".into(),
                format!(
                    "{} / {} / {}",
                    mhz(self.base_frequency_mhz),
                    mhz(self.max_frequency_mhz),
                    mhz(self.current_frequency_mhz)
                ),
            ),
            (
                "This process",
                "CPUs it may run on (affinity)".into(),
                count(self.affinity_cpus),
            ),
            (
                "This process",
                "CPU quota (cgroup)".into(),
                self.cpu_quota
                    .map_or("unlimited".into(), |q| format!("{q:.2} CPUs")),
            ),
            (
                "This process",
                "effective parallelism".into(),
                self.effective_parallelism.to_string(),
            ),
            (
                "This process",
                "max speedup".into(),
                format!("{:.2}×", self.max_speedup()),
            ),
        ];
        for cache in &self.caches {
            let shared = cache.shared_by.map_or(String::new(), |n| {
                format!(", shared by {n} CPU{}", if n == 1 { "" } else { "s" })
            });
            rows.push((
                "Caches",
                cache.name(),
                format!("{}{shared}", bytes(cache.size_bytes)),
            ));
        }
        rows.push((
            "Memory",
            "total / available".into(),
            format!(
                "{} / {}",
                opt(self.memory_total.map(bytes)),
                opt(self.memory_available.map(bytes))
            ),
        ));
        rows.push((
            "Memory",
            "limit (cgroup)".into(),
            self.memory_limit.map_or("unlimited".into(), bytes),
        ));
        let simd: Vec<&str> = self
            .simd
            .iter()
            .filter(|(_, on)| **on)
            .map(|(k, _)| k.as_str())
            .collect();
        rows.push((
            "SIMD",
            "instruction sets".into(),
            if simd.is_empty() {
                "none of sse2, avx, avx2, fma, avx512f, neon".into()
            } else {
                simd.join(", ")
            },
        ));
        rows.push((
            "System",
            "OS / kernel".into(),
            format!(
                "{} / {}",
                self.os_name.clone().unwrap_or_else(|| self.os.clone()),
                opt(self.kernel.clone())
            ),
        ));
        let hints: Vec<&str> = [
            (self.in_container, "container"),
            (self.in_ci, "CI"),
            (self.on_binder, "Binder"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        rows.push((
            "System",
            "running in".into(),
            if hints.is_empty() {
                "no container, CI or Binder detected".into()
            } else {
                hints.join(", ")
            },
        ));
        if let Some(py) = &self.python {
            rows.push((
                "Python",
                "version".into(),
                format!("{} {}", py.implementation, py.version),
            ));
            rows.push((
                "Python",
                "free-threaded build".into(),
                if py.free_threaded { "yes" } else { "no" }.into(),
            ));
            rows.push((
                "Python",
                "GIL enabled now".into(),
                opt(py
                    .gil_enabled
                    .map(|on| if on { "yes" } else { "no" }.to_string())),
            ));
        }
        rows
    }

    /// A plain-text card.
    pub fn to_text(&self) -> String {
        let rows = self.rows();
        let width = rows
            .iter()
            .map(|(_, label, _)| label.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        let mut section = "";
        for (sec, label, value) in &rows {
            if *sec != section {
                out.push_str(&format!("{sec}\n"));
                section = sec;
            }
            out.push_str(&format!("  {label:<width$}  {value}\n"));
        }
        out.push('\n');
        out.push_str(&self.summary());
        out
    }

    /// An HTML card (Jupyter's `_repr_html_`, evcxr's display protocol).
    pub fn to_html(&self) -> String {
        let mut html =
            String::from("<table class=\"parlab-hardware\" style=\"border-collapse:collapse\">");
        let mut section = "";
        for (sec, label, value) in self.rows() {
            if sec != section {
                html.push_str(&format!("<tr><th colspan=\"2\" style=\"text-align:left;padding-top:0.6em\">{}</th></tr>", escape(sec)));
                section = sec;
            }
            html.push_str(&format!(
                "<tr><td style=\"text-align:left;padding-right:1.5em\">{}</td><td style=\"text-align:left\">{}</td></tr>",
                escape(&label),
                escape(&value)
            ));
        }
        html.push_str("</table>");
        html.push_str(&format!(
            "<p><b>What this means:</b> {}</p>",
            escape(&self.summary())
        ));
        html
    }

    /// Shows the card as the result of an evcxr (Rust Jupyter kernel) cell.
    pub fn evcxr_display(&self) {
        evcxr_show("text/html", &self.to_html());
    }

    /// Everything as JSON, with `max_speedup` and `summary` added.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("plain data always serializes");
        value["max_speedup"] = self.max_speedup().into();
        value["summary"] = self.summary().into();
        value
    }
}

impl fmt::Display for HardwareInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_read_well() {
        assert_eq!(bytes(48 * 1024), "48 KiB");
        assert_eq!(bytes(32 << 20), "32 MiB");
        assert_eq!(bytes(25_276_510_208), "23.5 GiB");
    }
}
