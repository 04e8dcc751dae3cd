//! The core's own source, compiled into it, so that a notebook shows the code that really
//! runs rather than a copy in its markdown that could drift:
//! `parlab_core::source::function("schedule", "dynamic")` is that function, as compiled.

use std::fmt;

use crate::display::evcxr_show;
use crate::error::{Error, Result};

/// The modules a lesson shows code from, by name.
const MODULES: [(&str, &str); 4] = [
    ("schedule", include_str!("schedule.rs")),
    ("net", include_str!("net.rs")),
    ("workloads", include_str!("workloads.rs")),
    ("mandelbrot", include_str!("mandelbrot.rs")),
];

/// A piece of the core's source: shown as a Rust code block in a notebook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub module: &'static str,
    pub text: &'static str,
}

/// The item `fn name` of `module` (one of "schedule", "net", "workloads", "mandelbrot"), from its
/// doc comment to its closing brace, exactly as compiled into this crate.
pub fn function(module: &str, name: &str) -> Result<Source> {
    let (module, text) = MODULES.iter().find(|(m, _)| *m == module).ok_or_else(|| {
        let names: Vec<_> = MODULES.iter().map(|(m, _)| *m).collect();
        Error::invalid(
            "module",
            format!("unknown module {module:?}; one of {names:?}"),
        )
    })?;
    let missing = || Error::invalid("name", format!("no function {name:?} in {module}.rs"));
    // A top-level item starts at column 0: `pub fn name<` or `pub fn name(`, or `fn name`.
    let start = ["pub fn ", "fn "]
        .iter()
        .flat_map(|head| ["(", "<"].map(|open| format!("\n{head}{name}{open}")))
        .filter_map(|needle| text.find(&needle))
        .min()
        .ok_or_else(missing)?
        + 1;
    // Its closing brace is the first one at column 0 after it.
    let end = start + text[start..].find("\n}\n").ok_or_else(missing)? + 2;
    // Its doc comment and attributes are the lines right above it.
    let above = &text[..start];
    let mut first = start;
    for line in above.lines().rev() {
        if line.starts_with("///") || line.starts_with("#[") {
            first -= line.len() + 1;
        } else {
            break;
        }
    }
    Ok(Source {
        module,
        text: &text[first..end],
    })
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

impl Source {
    /// Shows the code as a highlighted Rust block, titled with its file.
    pub fn evcxr_display(&self) {
        let markdown = format!(
            "`rust_core/src/{}.rs`, as compiled:\n\n```rust\n{}\n```",
            self.module, self.text
        );
        evcxr_show("text/markdown", &markdown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_is_cut_whole_with_its_doc_comment() {
        let dynamic = function("schedule", "dynamic").unwrap();
        assert!(
            dynamic.text.starts_with("/// A shared counter"),
            "{dynamic}"
        );
        assert!(dynamic.text.contains("pub fn dynamic<T: Sync>("));
        assert!(dynamic.text.ends_with("\n}"), "{dynamic}");
        assert_eq!(dynamic.text.matches("\npub fn ").count(), 1);
        let fib = function("workloads", "fib").unwrap();
        assert!(fib.text.contains("pub fn fib(n: u32) -> u64 {") && fib.text.contains("1\n"));
        assert!(!fib.text.contains("fib_scoped"));
    }

    #[test]
    fn unknown_names_are_errors() {
        let err = function("render", "render").unwrap_err().to_string();
        assert!(err.starts_with("module:"), "{err}");
        let err = function("schedule", "nothing").unwrap_err().to_string();
        assert!(err.starts_with("name:"), "{err}");
    }
}
