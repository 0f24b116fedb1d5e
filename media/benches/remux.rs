#![allow(clippy::unwrap_used)] // an unwrap here is an assertion
fn main() {}
