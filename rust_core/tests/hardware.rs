//! Hardware detection on fixture trees: cgroup v1 and v2, sysfs topology and caches,
//! /proc files, and the environment hints. Plus agreement with this machine.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use parlab_core::hardware::{detect, detect_at, HardwareInfo};

/// A directory standing in for `/`, removed when dropped.
struct Tree(PathBuf);

impl Tree {
    fn new(files: &[(&str, &str)]) -> Tree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "parlab-hw-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        for (path, text) in files {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        std::fs::create_dir_all(&root).unwrap();
        Tree(root)
    }

    fn detect(&self, env: &[(&str, &str)]) -> HardwareInfo {
        detect_at(
            &self.0,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const EIGHT_CPUS: [(&str, &str); 2] = [
    ("sys/devices/system/cpu/online", "0-7\n"),
    (
        "proc/thread-self/status",
        "Name:\tpython\nCpus_allowed:\tff\nCpus_allowed_list:\t0-7\n",
    ),
];

fn v2(cpu_max: &str) -> Vec<(&'static str, String)> {
    vec![
        ("proc/self/cgroup", "0::/user.slice/lab.scope\n".into()),
        (
            "proc/self/mountinfo",
            "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n".into(),
        ),
        (
            "sys/fs/cgroup/user.slice/lab.scope/cpu.max",
            format!("{cpu_max}\n"),
        ),
        ("sys/fs/cgroup/user.slice/cpu.max", "max 100000\n".into()),
        (
            "sys/fs/cgroup/user.slice/lab.scope/memory.max",
            "2147483648\n".into(),
        ),
        ("sys/fs/cgroup/user.slice/memory.max", "max\n".into()),
    ]
}

fn with_cpus(extra: Vec<(&'static str, String)>) -> Tree {
    let mut files: Vec<(&str, &str)> = EIGHT_CPUS.to_vec();
    files.extend(extra.iter().map(|(p, t)| (*p, t.as_str())));
    Tree::new(&files)
}

#[test]
fn cgroup_v2_unlimited_quota_is_none() {
    let info = with_cpus(v2("max 100000")).detect(&[]);
    assert_eq!(info.logical_cpus, 8);
    assert_eq!(info.affinity_cpus, Some(8));
    assert_eq!(info.cpu_quota, None);
    assert_eq!(info.effective_parallelism, 8);
    assert_eq!(info.memory_limit, Some(2 << 30));
}

#[test]
fn cgroup_v2_half_a_cpu_still_runs_one_thread() {
    let info = with_cpus(v2("50000 100000")).detect(&[]);
    assert_eq!(info.cpu_quota, Some(0.5));
    assert_eq!(info.effective_parallelism, 1);
    assert_eq!(info.max_speedup(), 1.0);
    assert!(
        info.summary().contains("expect no speedup beyond 1 thread"),
        "{}",
        info.summary()
    );
}

#[test]
fn cgroup_v2_fractional_quota_rounds_up() {
    let info = with_cpus(v2("250000 100000")).detect(&[]);
    assert_eq!(info.cpu_quota, Some(2.5));
    assert_eq!(info.effective_parallelism, 3);
    assert_eq!(info.max_speedup(), 2.5);
}

#[test]
fn cgroup_v2_limit_on_an_ancestor_applies() {
    let mut files = v2("max 100000");
    files[3] = ("sys/fs/cgroup/user.slice/cpu.max", "100000 100000\n".into());
    let info = with_cpus(files).detect(&[]);
    assert_eq!(info.cpu_quota, Some(1.0));
    assert_eq!(info.effective_parallelism, 1);
}

#[test]
fn cgroup_v1_quota_and_memory_limit() {
    let tree =
        with_cpus(vec![
        ("proc/self/cgroup", "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n".into()),
        (
            "proc/self/mountinfo",
            "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
             35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
             41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
                .into(),
        ),
        ("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n".into()),
        ("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n".into()),
        ("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n".into()),
        ("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n".into()),
        ("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "1073741824\n".into()),
        ("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n".into()),
    ]);
    let info = tree.detect(&[]);
    assert_eq!(info.cpu_quota, Some(1.5));
    assert_eq!(info.effective_parallelism, 2);
    assert_eq!(info.memory_limit, Some(1 << 30));
}

#[test]
fn cgroup_v1_without_limits() {
    let tree = with_cpus(vec![
        ("proc/self/cgroup", "4:cpu:/\n".into()),
        (
            "proc/self/mountinfo",
            "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n".into(),
        ),
        ("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n".into()),
        ("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n".into()),
    ]);
    let info = tree.detect(&[]);
    assert_eq!(info.cpu_quota, None);
    assert_eq!(info.memory_limit, None);
    assert_eq!(info.effective_parallelism, 8);
}

#[test]
fn affinity_narrower_than_the_machine() {
    let tree = Tree::new(&[
        ("sys/devices/system/cpu/online", "0-63\n"),
        ("proc/thread-self/status", "Cpus_allowed_list:\t2,5\n"),
    ]);
    let info = tree.detect(&[]);
    assert_eq!(
        (
            info.logical_cpus,
            info.affinity_cpus,
            info.effective_parallelism
        ),
        (64, Some(2), 2)
    );
    assert!(
        info.summary().contains("2 CPUs of the 64 visible"),
        "{}",
        info.summary()
    );
}

#[test]
fn smt_topology_sockets_numa_and_caches() {
    let mut files: Vec<(String, String)> = vec![
        ("sys/devices/system/cpu/online".into(), "0-7\n".into()),
        ("sys/devices/system/node/node0/cpulist".into(), "0-3\n".into()),
        ("sys/devices/system/node/node1/cpulist".into(), "4-7\n".into()),
        ("sys/devices/system/node/possible".into(), "0-1\n".into()),
        (
            "proc/cpuinfo".into(),
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Example CPU @ 3.00GHz\ncpu MHz\t\t: 2999.5\n\n\
             processor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Example CPU @ 3.00GHz\n"
                .into(),
        ),
        ("proc/meminfo".into(), "MemTotal:       16384000 kB\nMemFree:  1 kB\nMemAvailable:    8192000 kB\n".into()),
        ("sys/devices/system/cpu/cpu0/cpufreq/base_frequency".into(), "3000000\n".into()),
        ("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq".into(), "4500000\n".into()),
    ];
    for cpu in 0..8 {
        // Two sockets of two cores, each core with two hardware threads (cpu k and k+4).
        let core = cpu % 4;
        files.push((
            format!("sys/devices/system/cpu/cpu{cpu}/topology/core_cpus_list"),
            format!("{core},{}\n", core + 4),
        ));
        files.push((
            format!("sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id"),
            format!("{}\n", core / 2),
        ));
    }
    for (index, level, kind, size, shared) in [
        (0, 1, "Data", "32K", "0,4"),
        (1, 1, "Instruction", "32K", "0,4"),
        (2, 2, "Unified", "1024K", "0,4"),
        (3, 3, "Unified", "16384K", "0-1,4-5"),
    ] {
        let dir = format!("sys/devices/system/cpu/cpu0/cache/index{index}");
        files.push((format!("{dir}/level"), format!("{level}\n")));
        files.push((format!("{dir}/type"), format!("{kind}\n")));
        files.push((format!("{dir}/size"), format!("{size}\n")));
        files.push((format!("{dir}/shared_cpu_list"), format!("{shared}\n")));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let info = Tree::new(&refs).detect(&[]);
    assert_eq!(info.cpu_model.as_deref(), Some("Example CPU @ 3.00GHz"));
    assert_eq!(info.cpu_vendor.as_deref(), Some("GenuineIntel"));
    assert_eq!(
        (
            info.logical_cpus,
            info.physical_cores,
            info.threads_per_core
        ),
        (8, Some(4), Some(2))
    );
    assert_eq!((info.sockets, info.numa_nodes), (Some(2), Some(2)));
    assert_eq!(
        (
            info.base_frequency_mhz,
            info.max_frequency_mhz,
            info.current_frequency_mhz
        ),
        (Some(3000.0), Some(4500.0), Some(2999.5))
    );
    assert_eq!(
        (info.memory_total, info.memory_available),
        (Some(16_384_000 * 1024), Some(8_192_000 * 1024))
    );
    let caches: Vec<(String, u64, Option<usize>)> = info
        .caches
        .iter()
        .map(|c| (c.name(), c.size_bytes, c.shared_by))
        .collect();
    assert_eq!(
        caches,
        [
            ("L1d".to_string(), 32 << 10, Some(2)),
            ("L1i".to_string(), 32 << 10, Some(2)),
            ("L2".to_string(), 1 << 20, Some(2)),
            ("L3".to_string(), 16 << 20, Some(4)),
        ]
    );
    assert!(
        info.summary()
            .contains("4 physical cores with 2 hardware threads each"),
        "{}",
        info.summary()
    );
}

#[test]
fn missing_files_give_none_not_guesses() {
    let info = Tree::new(&[("sys/devices/system/cpu/online", "0-3\n")]).detect(&[]);
    assert_eq!(info.logical_cpus, 4);
    for missing in [
        info.physical_cores,
        info.sockets,
        info.numa_nodes,
        info.threads_per_core,
    ] {
        assert_eq!(missing, None);
    }
    assert_eq!(
        (
            info.memory_total,
            info.memory_limit,
            info.cpu_quota,
            info.base_frequency_mhz
        ),
        (None, None, None, None)
    );
    assert!(info.caches.is_empty());
    assert_eq!(info.effective_parallelism, 4);
}

#[test]
fn environment_hints() {
    let tree = Tree::new(&[(".dockerenv", "")]);
    let info = tree.detect(&[
        ("CI", "true"),
        ("BINDER_LAUNCH_HOST", "https://mybinder.org/"),
    ]);
    assert!(info.in_container && info.in_ci && info.on_binder);
    let plain = Tree::new(&[]).detect(&[("CI", "false"), ("PATH", "/usr/bin")]);
    assert!(!plain.in_container && !plain.in_ci && !plain.on_binder);
    assert!(tree.path().join(".dockerenv").exists());
}

#[test]
fn json_html_and_text_views() {
    let info = with_cpus(v2("250000 100000")).detect(&[]);
    let json = info.to_json();
    assert_eq!(json["effective_parallelism"], 3);
    assert_eq!(json["cpu_quota"], 2.5);
    assert_eq!(json["max_speedup"], 2.5);
    assert_eq!(json["physical_cores"], serde_json::Value::Null);
    assert!(json["summary"]
        .as_str()
        .unwrap()
        .starts_with("This process may use 3 CPUs"));
    let html = info.to_html();
    assert!(
        html.starts_with("<table")
            && html.contains("effective parallelism")
            && html.contains("2.50 CPUs")
    );
    assert!(info.to_text().contains("CPU quota (cgroup)"));
}

#[cfg(target_os = "linux")]
#[test]
fn this_machine_agrees_with_proc() {
    let info = detect();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    let processors = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(info.logical_cpus, processors);
    assert!(info.effective_parallelism >= 1 && info.effective_parallelism <= info.logical_cpus);
    assert_eq!(info.effective_parallelism, parlab_core::default_threads());
    assert!(info.memory_total.unwrap() > 0);
}
