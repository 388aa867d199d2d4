//! `cargo run -p scf-iot-ingest --example bench_ingest -- --devices 100 --readings 20000 --json`
//! (the same as `scf bench ingest`, without building the whole binary).
use clap::Parser;

#[derive(Parser)]
#[command(name = "bench_ingest")]
struct Cli {
    #[command(flatten)]
    args: scf_iot_ingest::BenchIngestArgs,
}

fn main() -> anyhow::Result<()> {
    let r = scf_iot_ingest::bench_ingest(Cli::parse().args)?;
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}
