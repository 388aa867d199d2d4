//! The checked-in SDL (`graphql/schema.graphql`) is what UIs generate code from: it must match the
//! schema the server serves.

#[test]
fn sdl_matches_checked_in_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let sdl = scf_graphql::sdl();
    if std::env::var_os("SCF_UPDATE_SDL").is_some() {
        std::fs::write(path, &sdl).expect("write schema.graphql");
        return;
    }
    let stored = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        stored == sdl,
        "graphql/schema.graphql is out of date with the schema; regenerate it with:\n  SCF_UPDATE_SDL=1 cargo test -p scf-graphql --test sdl"
    );
}
