//! Import EPCIS documents and print each one's event hashes, one JSON line per file:
//! `{"file": ..., "hashes": [...], "prehashes": [...]}` or `{"file": ..., "error": "..."}`.
//! Used by `tests/standards/epcis_examples.sh` to compare with the GS1 reference implementation.
//!
//! `cargo run -p scf-domain --example epcis_hashes -- FILE...` (`.xml` files use the XML binding).

use scf_domain::provenance::{epcis, hash};

fn main() {
    for path in std::env::args().skip(1) {
        let line = match std::fs::read_to_string(&path) {
            Err(e) => serde_json::json!({ "file": path, "error": format!("read: {e}") }),
            Ok(text) => {
                let result = if path.to_ascii_lowercase().ends_with(".xml") {
                    epcis::import_xml(&text)
                } else {
                    epcis::import(&text)
                };
                match result {
                    Ok(events) => {
                        let prehashes: Vec<String> =
                            events.iter().map(|e| hash::prehash(&e.json).unwrap_or_else(|e| e.reason)).collect();
                        let hashes: Vec<&str> = events.iter().map(|e| e.hash.as_str()).collect();
                        serde_json::json!({ "file": path, "hashes": hashes, "prehashes": prehashes })
                    }
                    Err(e) => serde_json::json!({ "file": path, "error": e.to_string() }),
                }
            }
        };
        println!("{line}");
    }
}
