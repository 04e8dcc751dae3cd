//! Reading Linux's /proc and /sys (below a root directory, so fixture trees can stand in
//! for a machine): CPU lists, topology, caches, cgroup v1 and v2 limits, and hints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::Cache;

// --- reading files below a root -----------------------------------------------------------

pub(super) struct Root(pub(super) PathBuf);

impl Root {
    pub(super) fn path(&self, p: &str) -> PathBuf {
        self.0.join(p.trim_start_matches('/'))
    }

    pub(super) fn read(&self, p: &str) -> Option<String> {
        std::fs::read_to_string(self.path(p))
            .ok()
            .map(|s| s.trim().to_string())
    }

    pub(super) fn read_at(&self, dir: &Path, name: &str) -> Option<String> {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .map(|s| s.trim().to_string())
    }

    pub(super) fn list(&self, p: &str) -> Option<Vec<String>> {
        let entries = std::fs::read_dir(self.path(p)).ok()?;
        Some(
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect(),
        )
    }
}

pub(super) fn is_linux(fs: &Root) -> bool {
    cfg!(target_os = "linux") || fs.path("proc/cpuinfo").exists()
}

pub(super) fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `Key:\tvalue` lines, as in /proc/*/status and /proc/meminfo.
pub(super) fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// `KEY="value"` lines, as in /etc/os-release.
pub(super) fn field_eq(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// One map per processor block of /proc/cpuinfo.
pub(super) fn parse_cpuinfo(text: &str) -> Vec<BTreeMap<String, String>> {
    text.split("\n\n")
        .map(|block| {
            block
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect::<BTreeMap<_, _>>()
        })
        .filter(|m| m.contains_key("processor"))
        .collect()
}

pub(super) fn cpuinfo_cores(cpuinfo: &[BTreeMap<String, String>]) -> Option<usize> {
    let cores: BTreeSet<(&String, &String)> = cpuinfo
        .iter()
        .filter_map(|p| Some((p.get("physical id")?, p.get("core id")?)))
        .collect();
    (!cores.is_empty()).then_some(cores.len())
}

/// A kernel CPU list such as "0-3,8,10-11" as the CPUs it names.
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if b < a || b - a > 1 << 16 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.trim().parse().ok()?),
        }
    }
    Some(cpus)
}

/// A sysfs size such as "32K", "1024K", "8M" in bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().ok()?;
    let scale = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" | "KiB" => 1 << 10,
        "M" | "MB" | "MiB" => 1 << 20,
        "G" | "GB" | "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

pub(super) struct Topology {
    pub(super) cores: Option<usize>,
    pub(super) sockets: Option<usize>,
}

pub(super) fn read_topology(fs: &Root, cpus: &[usize]) -> Topology {
    let mut cores = BTreeSet::new();
    let mut sockets = BTreeSet::new();
    let mut complete = true;
    for cpu in cpus {
        let dir = format!("sys/devices/system/cpu/cpu{cpu}/topology");
        let package = fs.read(&format!("{dir}/physical_package_id"));
        let siblings = fs
            .read(&format!("{dir}/core_cpus_list"))
            .or_else(|| fs.read(&format!("{dir}/thread_siblings_list")));
        match (package, siblings) {
            (Some(p), Some(s)) => {
                sockets.insert(p.clone());
                cores.insert((p, s));
            }
            _ => complete = false,
        }
    }
    Topology {
        cores: (complete && !cores.is_empty()).then_some(cores.len()),
        sockets: (complete && !sockets.is_empty()).then_some(sockets.len()),
    }
}

pub(super) fn read_caches(fs: &Root) -> Vec<Cache> {
    let base = "sys/devices/system/cpu/cpu0/cache";
    let mut names: Vec<String> = fs
        .list(base)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with("index"))
        .collect();
    names.sort_by_key(|n| {
        n.trim_start_matches("index")
            .parse::<u32>()
            .unwrap_or(u32::MAX)
    });
    let mut caches: Vec<Cache> = names
        .iter()
        .filter_map(|name| {
            let dir = fs.path(&format!("{base}/{name}"));
            let kind = match fs.read_at(&dir, "type")?.as_str() {
                "Data" => "data",
                "Instruction" => "instruction",
                "Unified" => "unified",
                _ => return None,
            };
            Some(Cache {
                level: fs.read_at(&dir, "level")?.parse().ok()?,
                kind: kind.to_string(),
                size_bytes: parse_size(&fs.read_at(&dir, "size")?)?,
                shared_by: fs
                    .read_at(&dir, "shared_cpu_list")
                    .and_then(|l| parse_cpu_list(&l))
                    .map(|c| c.len()),
            })
        })
        .collect();
    caches.sort_by(|a, b| (a.level, &a.kind).cmp(&(b.level, &b.kind)));
    caches
}

// --- cgroups --------------------------------------------------------------------------------

/// The cgroup directories of this process for a controller, from its own group up to the
/// root of the hierarchy: limits set on any ancestor apply too. `None` means cgroup v2.
pub(super) fn cgroup_dirs(fs: &Root, controller: Option<&str>) -> Vec<PathBuf> {
    let Some(membership) = fs.read("proc/self/cgroup") else {
        return Vec::new();
    };
    let path = membership.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let wanted = match controller {
            None => id == "0" && controllers.is_empty(),
            Some(c) => controllers.split(',').any(|x| x == c),
        };
        wanted.then(|| path.to_string())
    });
    let Some(path) = path else { return Vec::new() };
    let mounts = fs.read("proc/self/mountinfo").unwrap_or_default();
    let mount = mounts.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fields: Vec<&str> = left.split_whitespace().collect();
        let right: Vec<&str> = right.split_whitespace().collect();
        let (fstype, options) = (*right.first()?, right.get(2).copied().unwrap_or(""));
        let matches = match controller {
            None => fstype == "cgroup2",
            Some(c) => fstype == "cgroup" && options.split(',').any(|o| o == c),
        };
        if !matches {
            return None;
        }
        Some((fields.get(3)?.to_string(), fields.get(4)?.to_string()))
    });
    let Some((mount_root, mount_point)) = mount else {
        return Vec::new();
    };
    let relative = path
        .strip_prefix(mount_root.as_str())
        .unwrap_or(&path)
        .trim_matches('/');
    let top = fs.path(&mount_point);
    let mut dir = top.join(relative);
    let mut dirs = vec![dir.clone()];
    while dir != top && dir.pop() {
        dirs.push(dir.clone());
    }
    dirs
}

/// `cpu.max` of cgroup v2 ("max 100000" or "50000 100000") as a number of CPUs.
pub fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut parts = text.split_whitespace();
    let (quota, period) = (parts.next()?, parts.next().unwrap_or("100000"));
    cpu_fraction(quota.parse().ok()?, period.parse().ok()?)
}

/// cgroup v1's `cpu.cfs_quota_us` and `cpu.cfs_period_us` as a number of CPUs (-1: none).
pub fn parse_cfs(quota_us: &str, period_us: &str) -> Option<f64> {
    cpu_fraction(
        quota_us.trim().parse().ok()?,
        period_us.trim().parse().ok()?,
    )
}

pub(super) fn cpu_fraction(quota: f64, period: f64) -> Option<f64> {
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

pub(super) fn cgroup_cpu_quota(fs: &Root) -> Option<f64> {
    let v2 = cgroup_dirs(fs, None)
        .iter()
        .filter_map(|d| fs.read_at(d, "cpu.max").and_then(|t| parse_cpu_max(&t)))
        .reduce(f64::min);
    v2.or_else(|| {
        cgroup_dirs(fs, Some("cpu"))
            .iter()
            .filter_map(|d| {
                parse_cfs(
                    &fs.read_at(d, "cpu.cfs_quota_us")?,
                    &fs.read_at(d, "cpu.cfs_period_us")?,
                )
            })
            .reduce(f64::min)
    })
}

/// v1 reports "no limit" as a huge number near i64::MAX rounded to pages.
const NO_MEMORY_LIMIT: u64 = 1 << 60;

pub(super) fn cgroup_memory_limit(fs: &Root) -> Option<u64> {
    let v2 = cgroup_dirs(fs, None)
        .iter()
        .filter_map(|d| fs.read_at(d, "memory.max")?.parse::<u64>().ok())
        .min();
    v2.or_else(|| {
        cgroup_dirs(fs, Some("memory"))
            .iter()
            .filter_map(|d| fs.read_at(d, "memory.limit_in_bytes")?.parse::<u64>().ok())
            .filter(|&b| b < NO_MEMORY_LIMIT)
            .min()
    })
}

// --- hints and features ---------------------------------------------------------------------

pub(super) fn in_container(fs: &Root, env: &BTreeMap<String, String>) -> bool {
    fs.path(".dockerenv").exists()
        || fs.path("run/.containerenv").exists()
        || env.contains_key("container")
        || env.contains_key("KUBERNETES_SERVICE_HOST")
        || fs.read("proc/1/cgroup").is_some_and(|t| {
            ["docker", "kubepods", "containerd", "lxc", "libpod"]
                .iter()
                .any(|m| t.contains(m))
        })
}

pub(super) fn in_ci(env: &BTreeMap<String, String>) -> bool {
    let set = |k: &str| {
        env.get(k)
            .is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
    };
    [
        "CI",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "BUILDKITE",
        "JENKINS_URL",
        "TF_BUILD",
        "CIRCLECI",
        "TRAVIS",
    ]
    .iter()
    .any(|k| set(k))
}

pub(super) fn simd_features() -> BTreeMap<String, bool> {
    let mut found: BTreeMap<String, bool> = ["sse2", "avx", "avx2", "fma", "avx512f", "neon"]
        .iter()
        .map(|k| (k.to_string(), false))
        .collect();
    #[cfg(target_arch = "x86_64")]
    {
        found.insert("sse2".into(), std::arch::is_x86_feature_detected!("sse2"));
        found.insert("avx".into(), std::arch::is_x86_feature_detected!("avx"));
        found.insert("avx2".into(), std::arch::is_x86_feature_detected!("avx2"));
        found.insert("fma".into(), std::arch::is_x86_feature_detected!("fma"));
        found.insert(
            "avx512f".into(),
            std::arch::is_x86_feature_detected!("avx512f"),
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        found.insert(
            "neon".into(),
            std::arch::is_aarch64_feature_detected!("neon"),
        );
    }
    found
}

pub(super) fn os_logical_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(not(target_os = "linux"))]
pub(super) fn os_physical_cores() -> Option<usize> {
    Some(num_cpus::get_physical())
}

#[cfg(target_os = "linux")]
pub(super) fn os_physical_cores() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::effective_parallelism;

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("0"), Some(vec![0]));
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("32K"), Some(32 * 1024));
        assert_eq!(parse_size("32768K"), Some(32 << 20));
        assert_eq!(parse_size("8M"), Some(8 << 20));
        assert_eq!(parse_size("big"), None);
    }

    #[test]
    fn quotas() {
        assert_eq!(parse_cpu_max("max 100000"), None);
        assert_eq!(parse_cpu_max("50000 100000"), Some(0.5));
        assert_eq!(parse_cpu_max("250000 100000"), Some(2.5));
        assert_eq!(parse_cfs("-1", "100000"), None);
        assert_eq!(parse_cfs("150000", "100000"), Some(1.5));
    }

    #[test]
    fn effective_parallelism_rounds_the_quota_up_and_never_reaches_zero() {
        assert_eq!(effective_parallelism(8, parse_cpu_max("max 100000")), 8);
        assert_eq!(effective_parallelism(8, parse_cpu_max("50000 100000")), 1);
        assert_eq!(effective_parallelism(8, parse_cpu_max("250000 100000")), 3);
        assert_eq!(effective_parallelism(2, Some(16.0)), 2);
        assert_eq!(effective_parallelism(0, None), 1);
    }
}
