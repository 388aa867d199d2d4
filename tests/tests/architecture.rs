//! The crate graph in docs/ARCHITECTURE.md (its `crate-graph` block) is the contract: every dependency
//! between workspace crates, read from `cargo metadata`, must be listed there, and every listed one must
//! exist. A new edge (the node depending on the domain, a service on the store) fails here until the
//! document allows it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The `crate-graph` block: `crate: dep dep …` (normal dependencies) and `dev crate: dep …` (what the
/// crate's tests add).
fn documented(text: &str) -> (Graph, Graph) {
    let block = text
        .split("```crate-graph\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/ARCHITECTURE.md has a ```crate-graph block");
    let (mut normal, mut dev) = (Graph::new(), Graph::new());
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let (head, deps) = line.split_once(':').unwrap_or_else(|| panic!("crate-graph line without ':': {line}"));
        let deps: BTreeSet<String> = deps.split_whitespace().map(str::to_string).collect();
        match head.trim().strip_prefix("dev ") {
            Some(krate) => dev.insert(krate.trim().to_string(), deps),
            None => normal.insert(head.trim().to_string(), deps),
        };
    }
    (normal, dev)
}

/// The workspace's own crates and the edges between them, from `cargo metadata`.
fn actual(root: &Path) -> (BTreeSet<String>, Graph, Graph) {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let names: BTreeSet<String> = packages.iter().filter_map(|p| p["name"].as_str()).map(str::to_string).collect();
    let (mut normal, mut dev) = (Graph::new(), Graph::new());
    for p in packages {
        let name = p["name"].as_str().expect("name").to_string();
        normal.entry(name.clone()).or_default();
        for d in p["dependencies"].as_array().expect("dependencies") {
            let dep = d["name"].as_str().expect("dependency name");
            if !names.contains(dep) || dep == name {
                continue;
            }
            let graph = if d["kind"].as_str() == Some("dev") { &mut dev } else { &mut normal };
            graph.entry(name.clone()).or_default().insert(dep.to_string());
        }
    }
    (names, normal, dev)
}

/// Where the workspace and the documented graph disagree, one line each.
fn disagreements(doc: &str, names: &BTreeSet<String>, normal: &Graph, dev: &Graph) -> Vec<String> {
    let (allowed, allowed_dev) = documented(doc);
    let mut problems = Vec::new();
    for (krate, deps) in normal {
        let Some(ok) = allowed.get(krate) else {
            problems.push(format!("{krate}: not in the crate graph"));
            continue;
        };
        for d in deps.difference(ok) {
            problems.push(format!("{krate} -> {d}: not allowed by the crate graph"));
        }
        for d in ok.difference(deps) {
            problems.push(format!("{krate} -> {d}: documented but no longer a dependency"));
        }
    }
    for (krate, deps) in dev {
        let ok = allowed_dev.get(krate).cloned().unwrap_or_default();
        let normal_deps = allowed.get(krate).cloned().unwrap_or_default();
        for d in deps.iter().filter(|d| !ok.contains(*d) && !normal_deps.contains(*d)) {
            problems.push(format!("{krate} -> {d} (tests): not allowed by the crate graph"));
        }
    }
    for krate in allowed.keys().filter(|k| !names.contains(*k)) {
        problems.push(format!("{krate}: documented but not a workspace crate"));
    }
    problems
}

#[test]
fn the_crate_graph_is_the_documented_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("read docs/ARCHITECTURE.md");
    let (names, normal, dev) = actual(&root);
    let problems = disagreements(&doc, &names, &normal, &dev);
    assert!(
        problems.is_empty(),
        "docs/ARCHITECTURE.md's crate graph and the workspace disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn an_undocumented_or_stale_edge_is_reported() {
    let doc = "```crate-graph\nscf-ledger:\nscf-node: scf-ledger scf-store\nscf-store: scf-ledger\n```";
    let names: BTreeSet<String> = ["scf-ledger", "scf-node", "scf-store", "scf-domain"].map(String::from).into();
    let graph = |edges: &[(&str, &[&str])]| -> Graph {
        edges.iter().map(|(k, ds)| (k.to_string(), ds.iter().map(|d| d.to_string()).collect())).collect()
    };
    let ok = graph(&[("scf-ledger", &[]), ("scf-node", &["scf-ledger", "scf-store"]), ("scf-store", &["scf-ledger"])]);
    assert_eq!(disagreements(doc, &names, &ok, &Graph::new()), Vec::<String>::new());
    // The node depending on the domain: the edge the architecture rules out first.
    let bad =
        graph(&[("scf-ledger", &[]), ("scf-node", &["scf-ledger", "scf-store", "scf-domain"]), ("scf-store", &[])]);
    let found = disagreements(doc, &names, &bad, &Graph::new());
    assert!(found.contains(&"scf-node -> scf-domain: not allowed by the crate graph".to_string()), "{found:?}");
    assert!(found.contains(&"scf-store -> scf-ledger: documented but no longer a dependency".to_string()), "{found:?}");
    let tests_only = graph(&[("scf-store", &["scf-domain"])]);
    assert_eq!(disagreements(doc, &names, &ok, &tests_only).len(), 1);
}
