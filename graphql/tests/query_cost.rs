//! Query cost: lists weigh their page size, so nested lists multiply and one request cannot make the
//! server build an unbounded number of objects, while every operation the web UI sends (at its largest
//! page, `first: 100`) stays within the limits.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::{Request, Variables};
use scf_graphql::schema::unbacked;
use scf_graphql::Limits;

/// Each UI operation as its own document: the operation and the fragments it uses (the limits are
/// computed over a whole document).
fn ui_operations() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/api/operations");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("ui operations").flatten().map(|e| e.path()).collect();
    files.sort();
    let text: String = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .map(|p| std::fs::read_to_string(p).expect("read"))
        .collect::<Vec<_>>()
        .join("\n");
    let parsed: ExecutableDocument = async_graphql::parser::parse_query(&text).expect("the UI's operations parse");
    // Top-level definitions start at column 0.
    let mut defs: Vec<String> = Vec::new();
    for line in text.lines() {
        let top = ["query ", "mutation ", "subscription ", "fragment "].iter().any(|k| line.starts_with(k));
        match defs.last_mut() {
            Some(d) if !top => {
                d.push_str(line);
                d.push('\n');
            }
            _ => defs.push(format!("{line}\n")),
        }
    }
    let fragments: std::collections::HashMap<String, String> = defs
        .iter()
        .filter_map(|d| {
            d.strip_prefix("fragment ").map(|r| (r.split_whitespace().next().unwrap_or("").to_string(), d.clone()))
        })
        .collect();
    let spreads = |d: &str| -> Vec<String> {
        d.split("...")
            .skip(1)
            .filter_map(|r| r.split(|c: char| !c.is_alphanumeric() && c != '_').next())
            .filter(|n| fragments.contains_key(*n))
            .map(str::to_string)
            .collect()
    };
    let names: Vec<String> = match &parsed.operations {
        DocumentOperations::Single(_) => panic!("expected named operations"),
        DocumentOperations::Multiple(ops) => ops.keys().map(|n| n.to_string()).collect(),
    };
    names
        .into_iter()
        .map(|name| {
            let op = defs
                .iter()
                .find(|d| {
                    let mut w = d.split(|c: char| c.is_whitespace() || c == '(' || c == '{');
                    matches!(w.next(), Some("query" | "mutation" | "subscription")) && w.next() == Some(name.as_str())
                })
                .unwrap_or_else(|| panic!("operation {name} not found at the start of a line"))
                .clone();
            let mut used: Vec<String> = Vec::new();
            let mut todo = spreads(&op);
            while let Some(f) = todo.pop() {
                if !used.contains(&f) {
                    todo.extend(spreads(&fragments[&f]));
                    used.push(f);
                }
            }
            let doc = std::iter::once(op).chain(used.iter().map(|f| fragments[f].clone())).collect::<String>();
            (name, doc)
        })
        .collect()
}

/// Validation errors only (the unbacked schema fails every resolver, which is not the point here).
async fn limit_errors(query: &str, operation: Option<&str>, variables: serde_json::Value) -> Vec<String> {
    let schema = unbacked(&Limits::default());
    let mut req = Request::new(query).variables(Variables::from_json(variables));
    if let Some(op) = operation {
        req = req.operation_name(op);
    }
    let resp = schema.execute(req).await;
    resp.errors
        .into_iter()
        .map(|e| e.message)
        .filter(|m| m.contains("too complex") || m.contains("nested too deep"))
        .collect()
}

#[tokio::test]
async fn every_ui_operation_fits_the_limits_at_its_largest_page() {
    let ops = ui_operations();
    assert!(ops.len() > 20, "found {} operations", ops.len());
    for (name, doc) in ops {
        let errors = limit_errors(&doc, Some(&name), serde_json::json!({ "first": 100 })).await;
        assert!(errors.is_empty(), "UI operation {name}: {errors:?}\n{doc}");
    }
}

#[tokio::test]
async fn nested_lists_multiply_and_are_refused() {
    let fields = "id rootId parentId depth issuer holder amount currency issueDate dueDate status";
    // One page of vouchers with their fields: fine.
    let flat = format!("{{ vouchers(first: 100) {{ nodes {{ {fields} }} }} }}");
    assert!(limit_errors(&flat, None, serde_json::json!({})).await.is_empty());
    // Each with its lineage (up to 100 each by default): 100 × 100 × 11 fields.
    let nested = format!("{{ vouchers(first: 100) {{ nodes {{ lineage {{ {fields} }} }} }} }}");
    assert_eq!(limit_errors(&nested, None, serde_json::json!({})).await, vec!["Query is too complex.".to_string()]);
    // The explorer's cycle block → transactions → block → transactions.
    let cycle = "{ blocks(first: 50) { nodes { transactions { block { transactions { id } } } } } }";
    assert_eq!(limit_errors(cycle, None, serde_json::json!({})).await, vec!["Query is too complex.".to_string()]);
    // Lists nested to the depth limit and beyond: refused, never an arithmetic overflow (which panics
    // the request in a debug build and wraps around to a small cost in a release build).
    for levels in [11, 14] {
        let deep = format!(
            "{{ voucher(id: \"X\") {{ {}id{} }} }}",
            "lineage(first: 1000) { ".repeat(levels),
            " }".repeat(levels)
        );
        let errors = limit_errors(&deep, None, serde_json::json!({})).await;
        assert!(!errors.is_empty(), "{levels} levels of lineage");
    }
    // The page size in a variable counts as well.
    let by_var = "query($n: Int) { vouchers(first: $n) { nodes { lineage(first: 1000) { id } } } }";
    assert!(limit_errors(by_var, None, serde_json::json!({ "n": 1 })).await.is_empty());
    assert!(!limit_errors(by_var, None, serde_json::json!({ "n": 100 })).await.is_empty());
}
