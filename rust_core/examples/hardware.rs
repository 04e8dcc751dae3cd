//! Prints this machine's hardware card: `cargo run --example hardware`.
fn main() {
    println!("{}", parlab_core::hardware::detect());
}
