"""Wrong answers for notebooks/rust/03-download-async.ipynb (format: tests/test_exercises.py)."""


def threads(body: str) -> str:
    return f"""fn fetch_on_threads(server: &LatencyServer, pages: usize, threads: usize) -> Vec<usize> {{
{body}
}}"""


def asynced(body: str) -> str:
    return f"""async fn fetch_async(addr: std::net::SocketAddr, pages: usize) -> Vec<usize> {{
{body}
}}"""


NOT_TOGETHER = "never had 5 pages in progress at once: at most 1 page at a time"
NOT_ALL = "never had 12 pages in progress at once: at most 1 page at a time"

WRONG = [
    {
        "name": "one thread: the pages one after another",
        "cells": {
            "rust03-threads": threads("    (0..pages).map(|i| net::get_blocking(&server.url(i)).unwrap()).collect()")
        },
        "fails": {"rust03-threads-test": NOT_TOGETHER},
    },
    {
        "name": "start-then-join: each thread joined before the next starts",
        "cells": {
            "rust03-threads": threads(
                """    let mut lengths = vec![0; pages];
    std::thread::scope(|s| {
        for t in 0..threads {
            let got = s.spawn(move || {
                (t..pages).step_by(threads).map(|i| (i, net::get_blocking(&server.url(i)).unwrap())).collect::<Vec<_>>()
            }).join().unwrap();
            for (i, len) in got {
                lengths[i] = len;
            }
        }
    });
    lengths"""
            )
        },
        "fails": {"rust03-threads-test": NOT_TOGETHER},
    },
    {
        "name": "lock-serialised: every request inside one mutex",
        "cells": {
            "rust03-threads": threads(
                """    let lengths = std::sync::Mutex::new(vec![0; pages]);
    std::thread::scope(|s| {
        for t in 0..threads {
            let lengths = &lengths;
            s.spawn(move || {
                for i in (t..pages).step_by(threads) {
                    let mut all = lengths.lock().unwrap();
                    all[i] = net::get_blocking(&server.url(i)).unwrap();
                }
            });
        }
    });
    lengths.into_inner().unwrap()"""
            )
        },
        "fails": {"rust03-threads-test": NOT_TOGETHER},
    },
    {
        "name": "typed-in lengths, nothing downloaded",
        "cells": {
            "rust03-threads": threads(
                '    (0..pages).map(|i| format!("<html><body>/page/{i}</body></html>\\n").len()).collect()'
            )
        },
        "fails": {"rust03-threads-test": "no page was requested from the server"},
    },
    {
        "name": "lengths in the order the threads finished, not in page order",
        "cells": {
            "rust03-threads": threads(
                """    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || {
                (t..pages).step_by(threads).map(|i| net::get_blocking(&server.url(i)).unwrap()).collect::<Vec<_>>()
            }))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })"""
            )
        },
        "fails": {"rust03-threads-test": "in page order"},
    },
    {
        "name": "async awaited one request at a time",
        "cells": {
            "rust03-async": asynced(
                """    let mut lengths = Vec::with_capacity(pages);
    for i in 0..pages {
        lengths.push(net::get_async(addr, &format!("/page/{i}")).await.unwrap());
    }
    lengths"""
            )
        },
        "fails": {"rust03-async-test": NOT_ALL},
    },
    {
        "name": "start-then-await: each task awaited right after it is spawned",
        "cells": {
            "rust03-async": asynced(
                """    let mut lengths = Vec::with_capacity(pages);
    for i in 0..pages {
        let task = tokio::spawn(async move { net::get_async(addr, &format!("/page/{i}")).await.unwrap() });
        lengths.push(task.await.unwrap());
    }
    lengths"""
            )
        },
        "fails": {"rust03-async-test": NOT_ALL},
    },
    {
        "name": "a blocking client inside async (the one thread waits in turn)",
        "cells": {
            "rust03-async": asynced(
                """    let tasks: Vec<_> = (0..pages)
        .map(|i| tokio::spawn(async move { net::get_blocking(&format!("http://{addr}/page/{i}")).unwrap() }))
        .collect();
    let mut lengths = Vec::with_capacity(pages);
    for task in tasks {
        lengths.push(task.await.unwrap());
    }
    lengths"""
            )
        },
        "fails": {"rust03-async-test": NOT_ALL},
    },
]
