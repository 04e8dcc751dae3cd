//! Narrowing Python arguments to the core's Rust types, by name. Only the *type* is
//! checked here (with Python's own protocols: `operator.index` for integers, so numpy
//! integers work; `float()` for numbers); every rule about values is the core's.
//!
//! Each parameter gets a small extractor named after it (see [`parameters!`]), used as
//! `#[pyo3(from_py_with = args::width)]`: errors then name the parameter in their message,
//! where pyo3 would only add a note.

use parlab_core as core;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyString};

use crate::to_py_err;

/// A Rust type a Python argument can be narrowed to.
pub trait Narrow: Sized {
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self>;
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".into(), |n| n.to_string())
}

/// An integer by `operator.index` (so not `bool`, not `float`), narrowed to `T`.
fn integer<'py, T>(name: &'static str, obj: &Bound<'py, PyAny>) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
{
    let py = obj.py();
    let index = if obj.is_instance_of::<PyBool>() {
        None
    } else {
        // SAFETY: PyNumber_Index returns a new reference or NULL with an exception set.
        unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyNumber_Index(obj.as_ptr())) }.ok()
    };
    let Some(index) = index else {
        return Err(PyTypeError::new_err(format!(
            "{name}: must be an integer, got {}",
            type_name(obj)
        )));
    };
    index
        .extract::<T>()
        .map_err(|_| PyValueError::new_err(format!("{name}: {index} is out of range")))
}

macro_rules! narrow_integers {
    ($($ty:ty),*) => {$(
        impl Narrow for $ty {
            fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
                integer(name, obj)
            }
        }
    )*};
}
narrow_integers!(usize, u32, u64);

impl Narrow for f64 {
    /// A real number, by `float()` (ints and numpy scalars too; not bool, str or complex).
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let refused = obj.is_instance_of::<PyBool>()
            || obj.is_instance_of::<PyString>()
            || obj.is_instance_of::<PyBytes>();
        match obj.extract::<f64>() {
            Ok(value) if !refused => Ok(value),
            // Too large for a float: the core refuses infinities by name.
            Err(err) if !refused && err.is_instance_of::<PyOverflowError>(obj.py()) => {
                Ok(f64::INFINITY)
            }
            _ => Err(PyTypeError::new_err(format!(
                "{name}: must be a number, got {}",
                type_name(obj)
            ))),
        }
    }
}

impl Narrow for bool {
    /// `True` or `False` (or numpy's bool): a flag given as 1 or "yes" is a mistake.
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let ty = obj.get_type();
        let numpy_bool = ty.module().is_ok_and(|m| m == "numpy")
            && ty.name().is_ok_and(|n| n == "bool" || n == "bool_");
        if obj.is_instance_of::<PyBool>() || numpy_bool {
            return obj.is_truthy();
        }
        Err(PyTypeError::new_err(format!(
            "{name}: must be True or False, got {}",
            type_name(obj)
        )))
    }
}

impl Narrow for String {
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        obj.cast::<PyString>()
            .map_err(|_| {
                PyTypeError::new_err(format!("{name}: must be a string, got {}", type_name(obj)))
            })?
            .to_str()
            .map(str::to_owned)
    }
}

impl Narrow for core::Strategy {
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        String::narrow(name, obj)?.parse().map_err(to_py_err)
    }
}

impl Narrow for core::Kernel {
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        String::narrow(name, obj)?.parse().map_err(to_py_err)
    }
}

impl Narrow for core::shared::Counter {
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        String::narrow(name, obj)?.parse().map_err(to_py_err)
    }
}

impl Narrow for core::shared::LockOrder {
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        String::narrow(name, obj)?.parse().map_err(to_py_err)
    }
}

impl Narrow for core::Viewport {
    /// Any 4 numbers with a length (a tuple, a list, a numpy array), not a string.
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let wrong = || {
            PyTypeError::new_err(format!(
                "{name}: must be 4 numbers (re_min, re_max, im_min, im_max), got {}",
                type_name(obj)
            ))
        };
        let text = obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>();
        // An array of 4 rows is not 4 numbers (a 1-d numpy array is).
        let ndim = obj
            .getattr_opt("ndim")?
            .map(|n| n.extract::<usize>())
            .transpose();
        if text || !matches!(ndim, Ok(None | Some(1))) || obj.len().ok() != Some(4) {
            return Err(wrong());
        }
        let mut corners = [0.0; 4];
        for (corner, item) in corners.iter_mut().zip(obj.try_iter()?) {
            *corner = f64::narrow(name, &item?)?;
        }
        let [re_min, re_max, im_min, im_max] = corners;
        Ok(core::Viewport::new(re_min, re_max, im_min, im_max))
    }
}

impl<T: Narrow> Narrow for Option<T> {
    /// `None`, or a `T`.
    fn narrow(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            Ok(None)
        } else {
            T::narrow(name, obj).map(Some)
        }
    }
}

/// A callback: `None`, or anything callable (checked now, called later).
pub fn on_tile(obj: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
    if obj.is_none() {
        Ok(None)
    } else if obj.is_callable() {
        Ok(Some(obj.clone().unbind()))
    } else {
        let kind = type_name(obj);
        Err(PyTypeError::new_err(format!(
            "on_tile: must be callable or None, got {kind}"
        )))
    }
}

/// One extractor per parameter name, for `#[pyo3(from_py_with = args::name)]`; where one
/// name has two types (`threads`: optional for a render, required for a shared-data run),
/// the second extractor has its own Rust name and the parameter's: `count_threads("threads")`.
macro_rules! parameters {
    ($($name:ident $(($label:literal))?: $ty:ty),* $(,)?) => {$(
        pub fn $name(obj: &Bound<'_, PyAny>) -> PyResult<$ty> {
            <$ty as Narrow>::narrow(parameters!(@label $name $($label)?), obj)
        }
    )*};
    (@label $name:ident) => { stringify!($name) };
    (@label $name:ident $label:literal) => { $label };
}

parameters!(
    width: usize,
    height: usize,
    tile_x: usize,
    tile_y: usize,
    tile_w: usize,
    tile_h: usize,
    max_iter: u32,
    strategy: core::Strategy,
    threads: Option<usize>,
    time_limit_ms: Option<f64>,
    viewport: core::Viewport,
    tile_pixels: bool,
    kernel: core::Kernel,
    interior_shortcut: bool,
    cr: f64,
    ci: f64,
    n: u32,
    calls: usize,
    workers: usize,
    // parlab_core::shared (python/src/shared.rs)
    counter: core::shared::Counter,
    order: core::shared::LockOrder,
    count_threads("threads"): usize,
    increments: u64,
    rounds: usize,
    work_us: f64,
    hold_us: f64,
    timeout_ms: f64,
    padded: bool,
);
