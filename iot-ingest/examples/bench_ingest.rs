//! `cargo run -p scf-iot-ingest --example bench_ingest -- --devices 100 --readings 20000 --json`
//! (the same as `scf bench ingest`, without building the whole binary).
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = scf_iot_ingest::cli::bench_ingest_command(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
