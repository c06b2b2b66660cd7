//! Extractor throughput over whole mail bodies (filled in with the extractor).
fn main() {}
