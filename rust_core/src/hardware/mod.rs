//! What this machine can do in parallel, read from the operating system: cores, hardware
//! threads, the CPUs this process may use, its CPU quota, caches, memory and SIMD.
//!
//! Every field is `None` where the platform does not expose it: never a guess. On Linux
//! everything comes from `/proc` and `/sys`, read below a root directory so that the
//! parsers are tested on fixture trees (`detect_at`). Elsewhere only the CPU counts,
//! SIMD features and OS are filled in.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

mod card;
mod sysfs;

use sysfs::*;
pub use sysfs::{parse_cfs, parse_cpu_list, parse_cpu_max, parse_size};

/// One level of the cache hierarchy, as seen from CPU 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cache {
    pub level: u8,
    /// "data", "instruction" or "unified".
    pub kind: String,
    pub size_bytes: u64,
    /// How many logical CPUs share one instance of this cache.
    pub shared_by: Option<usize>,
}

impl Cache {
    /// "L1d", "L1i", "L2", "L3".
    pub fn name(&self) -> String {
        match self.kind.as_str() {
            "data" => format!("L{}d", self.level),
            "instruction" => format!("L{}i", self.level),
            _ => format!("L{}", self.level),
        }
    }
}

/// The Python interpreter a binding runs in (filled in by the binding, not by `detect`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PythonInfo {
    pub version: String,
    pub implementation: String,
    /// Built without the GIL (PEP 703, "3.13t").
    pub free_threaded: bool,
    /// Whether the GIL is enabled right now (`sys._is_gil_enabled()`), where Python says.
    pub gil_enabled: Option<bool>,
}

/// Everything a student needs to explain a speedup curve from the machine it ran on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HardwareInfo {
    pub cpu_model: Option<String>,
    pub cpu_vendor: Option<String>,
    pub architecture: String,
    /// CPUs the operating system has online (hardware threads, counting SMT siblings).
    pub logical_cpus: usize,
    pub physical_cores: Option<usize>,
    pub threads_per_core: Option<usize>,
    pub sockets: Option<usize>,
    pub numa_nodes: Option<usize>,
    /// CPUs this process may run on (its affinity mask: taskset, cpuset).
    pub affinity_cpus: Option<usize>,
    /// The cgroup CPU quota as a number of CPUs (1.5 = one and a half); `None` when unlimited.
    pub cpu_quota: Option<f64>,
    /// What a thread pool should use: min(affinity, ⌈quota⌉), at least 1.
    pub effective_parallelism: usize,
    pub base_frequency_mhz: Option<f64>,
    pub max_frequency_mhz: Option<f64>,
    pub current_frequency_mhz: Option<f64>,
    pub caches: Vec<Cache>,
    pub memory_total: Option<u64>,
    pub memory_available: Option<u64>,
    /// The cgroup memory limit in bytes; `None` when unlimited.
    pub memory_limit: Option<u64>,
    /// The SIMD instruction sets that matter to the renderers, detected at run time.
    pub simd: BTreeMap<String, bool>,
    pub os: String,
    pub os_name: Option<String>,
    pub kernel: Option<String>,
    pub in_container: bool,
    pub in_ci: bool,
    pub on_binder: bool,
    pub python: Option<PythonInfo>,
}

/// Reads this machine.
pub fn detect() -> HardwareInfo {
    detect_at(Path::new("/"), std::env::vars())
}

/// Reads a machine whose `/proc`, `/sys` and `/etc` live below `root`, with the given
/// environment variables (for the container, CI and Binder hints).
pub fn detect_at(root: &Path, env: impl IntoIterator<Item = (String, String)>) -> HardwareInfo {
    let fs = Root(root.to_path_buf());
    let env: BTreeMap<String, String> = env.into_iter().collect();
    let cpuinfo = fs
        .read("proc/cpuinfo")
        .map(|t| parse_cpuinfo(&t))
        .unwrap_or_default();
    let first = |keys: &[&str]| -> Option<String> {
        keys.iter().find_map(|k| {
            cpuinfo
                .first()
                .and_then(|p| p.get(*k))
                .filter(|v| !v.is_empty())
                .cloned()
        })
    };

    let online = fs
        .read("sys/devices/system/cpu/online")
        .and_then(|t| parse_cpu_list(&t));
    let logical_cpus = online
        .as_ref()
        .map(Vec::len)
        .or_else(|| (!cpuinfo.is_empty()).then_some(cpuinfo.len()))
        .unwrap_or_else(os_logical_cpus);
    let topology = online.as_deref().map(|cpus| read_topology(&fs, cpus));
    let physical_cores = topology
        .as_ref()
        .and_then(|t| t.cores)
        .or_else(|| cpuinfo_cores(&cpuinfo))
        .or_else(os_physical_cores);
    let sockets = topology.as_ref().and_then(|t| t.sockets);
    let numa_nodes = fs
        .list("sys/devices/system/node")
        .map(|names| {
            names
                .iter()
                .filter(|n| n.strip_prefix("node").is_some_and(is_number))
                .count()
        })
        .filter(|&n| n > 0);

    let affinity_cpus = ["proc/thread-self/status", "proc/self/status"]
        .iter()
        .find_map(|p| fs.read(p))
        .and_then(|status| field(&status, "Cpus_allowed_list").and_then(|l| parse_cpu_list(&l)))
        .map(|cpus| cpus.len())
        .or_else(|| (!is_linux(&fs)).then(os_logical_cpus));
    let cpu_quota = cgroup_cpu_quota(&fs);

    let freq = |name: &str| {
        fs.read(&format!("sys/devices/system/cpu/cpu0/cpufreq/{name}"))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|khz| khz / 1e3)
    };
    let meminfo = fs.read("proc/meminfo").unwrap_or_default();
    let kib = |key: &str| {
        field(&meminfo, key)
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|k| k * 1024)
    };

    HardwareInfo {
        cpu_model: first(&["model name", "Model", "cpu model", "Processor"]),
        cpu_vendor: first(&["vendor_id", "CPU implementer", "vendor"]),
        architecture: std::env::consts::ARCH.to_string(),
        logical_cpus,
        physical_cores,
        threads_per_core: physical_cores
            .filter(|&p| p > 0)
            .map(|p| (logical_cpus / p).max(1)),
        sockets,
        numa_nodes,
        affinity_cpus,
        cpu_quota,
        effective_parallelism: effective_parallelism(
            affinity_cpus.unwrap_or(logical_cpus),
            cpu_quota,
        ),
        base_frequency_mhz: freq("base_frequency"),
        max_frequency_mhz: freq("cpuinfo_max_freq"),
        current_frequency_mhz: freq("scaling_cur_freq")
            .or_else(|| first(&["cpu MHz"]).and_then(|v| v.parse().ok())),
        caches: read_caches(&fs),
        memory_total: kib("MemTotal"),
        memory_available: kib("MemAvailable"),
        memory_limit: cgroup_memory_limit(&fs),
        simd: simd_features(),
        os: std::env::consts::OS.to_string(),
        os_name: fs
            .read("etc/os-release")
            .and_then(|t| field_eq(&t, "PRETTY_NAME")),
        kernel: fs.read("proc/sys/kernel/osrelease"),
        in_container: in_container(&fs, &env),
        in_ci: in_ci(&env),
        on_binder: env.keys().any(|k| k.starts_with("BINDER_")),
        python: None,
    }
}

/// The thread count a pool should use: min(affinity, ⌈quota⌉), at least 1.
pub fn effective_parallelism(affinity_cpus: usize, cpu_quota: Option<f64>) -> usize {
    let by_quota = cpu_quota.map_or(usize::MAX, |q| q.ceil().max(1.0) as usize);
    affinity_cpus.min(by_quota).max(1)
}
