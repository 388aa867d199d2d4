//! Query cost: lists weigh their page size, so nested lists multiply and one request cannot make the
//! server build an unbounded number of objects, while every operation the web UI sends (at its largest
//! page, `first: 100`) stays within the limits.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::{Request, Variables};
use scf_graphql::schema::unbacked;
use scf_graphql::Limits;

fn ui_operations() -> (String, Vec<String>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/api/operations");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("ui operations").flatten().map(|e| e.path()).collect();
    files.sort();
    let doc: String = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .map(|p| std::fs::read_to_string(p).expect("read"))
        .collect::<Vec<_>>()
        .join("\n");
    let parsed: ExecutableDocument = async_graphql::parser::parse_query(&doc).expect("the UI's operations parse");
    let names = match &parsed.operations {
        DocumentOperations::Single(_) => panic!("expected named operations"),
        DocumentOperations::Multiple(ops) => ops.keys().map(|n| n.to_string()).collect(),
    };
    (doc, names)
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
    let (doc, names) = ui_operations();
    assert!(names.len() > 20, "found {} operations", names.len());
    for name in names {
        let errors = limit_errors(&doc, Some(&name), serde_json::json!({ "first": 100 })).await;
        assert!(errors.is_empty(), "UI operation {name}: {errors:?}");
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
    // The page size in a variable counts as well.
    let by_var = "query($n: Int) { vouchers(first: $n) { nodes { lineage(first: 1000) { id } } } }";
    assert!(limit_errors(by_var, None, serde_json::json!({ "n": 1 })).await.is_empty());
    assert!(!limit_errors(by_var, None, serde_json::json!({ "n": 100 })).await.is_empty());
}
