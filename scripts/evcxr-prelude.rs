// parlab's prelude for the Rust kernel: evcxr runs $EVCXR_CONFIG_DIR/prelude.rs when a kernel
// starts (scripts/install-rust-kernel.sh puts this file there).
//
// evcxr catches a cell's panic and answers "ok"; the panic's text goes to stderr, which evcxr
// forwards on a thread of its own, so it may reach the notebook after the cell's reply, land on
// the next cell, or be dropped. This hook reports a panic as the cell's *result* instead: evcxr
// sends a result before its reply, so the panic is always in the cell that caused it. The result
// carries three forms, all without a backtrace: `application/vnd.parlab.panic-N+json`, one key
// per panic (N counts the kernel's panics: {"thread", "location", "message"}, what nbval, the
// exercise harness and nbgrader read through `parlab.rust_output`), and HTML in the red of an
// error for JupyterLab and plain text, which show the panics of the cell's other threads too
// (a worker's failed assert!, then the cell's own `join().unwrap()`).
// Every cell shares the hook: evcxr links the cells against one copy of std and keeps every
// cell's library loaded while the kernel runs.
// The thread that runs the cells (evcxr runs this prelude on it too, like a cell).
let cells_thread = std::thread::current().id();
std::panic::set_hook(Box::new(move |info| {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    // The kernel's panics so far, and those of threads other than the cells' thread that no
    // panic of that thread has shown yet (kept for at most a minute).
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    static PENDING: Mutex<Vec<(Instant, String)>> = Mutex::new(Vec::new());
    fn escaped(text: &str, json: bool) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match (c, json) {
                ('"', true) => out.push_str("\\\""),
                ('\\', true) => out.push_str("\\\\"),
                (c, true) if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                ('<', false) => out.push_str("&lt;"),
                ('>', false) => out.push_str("&gt;"),
                ('&', false) => out.push_str("&amp;"),
                (c, _) => out.push(c),
            }
        }
        out
    }
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Box<dyn Any>".to_string());
    let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
    let thread = std::thread::current().name().unwrap_or("<unnamed>").to_string();
    let text = format!("thread '{thread}' panicked at {location}:\n{message}");
    let shown = {
        let mut pending = PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        pending.retain(|(at, _)| at.elapsed() < Duration::from_secs(60));
        pending.push((Instant::now(), text));
        let shown: Vec<&str> = pending.iter().map(|(_, text)| text.as_str()).collect();
        let shown = shown.join("\n\n");
        if std::thread::current().id() == cells_thread {
            pending.clear();
        }
        shown
    };
    // evcxr's protocol, line by line: "EVCXR_BEGIN_CONTENT <mime>", the content (no line of it
    // may be "EVCXR_END_CONTENT"), "EVCXR_END_CONTENT". The JSON is one line.
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let json = format!(
        "{{\"thread\": \"{}\", \"location\": \"{}\", \"message\": \"{}\"}}",
        escaped(&thread, true),
        escaped(&location, true),
        escaped(&message, true)
    );
    let html = format!(
        "<pre style=\"color: var(--jp-error-color1, #d32f2f); background: var(--jp-rendermime-err-background, #fdd); padding: 2px 4px\">{}</pre>",
        escaped(&shown, false)
    );
    let guard = |content: &str| content.replace("\nEVCXR_END_CONTENT", "\n EVCXR_END_CONTENT");
    let mut out = std::io::stdout().lock();
    let _ = write!(
        out,
        "EVCXR_BEGIN_CONTENT application/vnd.parlab.panic-{n}+json\n{json}\nEVCXR_END_CONTENT\n\
         EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT\n\
         EVCXR_BEGIN_CONTENT text/plain\n{}\nEVCXR_END_CONTENT\n",
        guard(&html),
        guard(&shown)
    );
    let _ = out.flush();
}));
