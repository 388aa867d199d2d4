//! Mermaid `stateDiagram-v2` diagrams of the declared processes, generated from
//! [`scf_domain::workflow::definitions`] so the documentation cannot drift from the rules the chain
//! enforces (a test compares `docs/workflows.md` with [`workflows_markdown`]).

use std::fmt::Write;

use scf_domain::workflow::definitions::{DeadlineRule, Party, ProcessDef, PROCESSES, START};

fn actor(p: Party) -> String {
    match p.role() {
        Some(r) if r.as_str() != p.as_str() => format!("{} ({})", p.as_str(), r.as_str()),
        _ => p.as_str().to_string(),
    }
}

/// One process as a Mermaid state diagram.
pub fn mermaid(p: &ProcessDef) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    for s in p.states {
        let mut label = s.name.to_string();
        if let Some(w) = s.waiting_for {
            let _ = write!(label, " — waiting for {}", w.as_str());
        }
        if let Some(d) = s.deadline {
            let rule = match d.rule {
                DeadlineRule::Days(n) => format!("{n} days"),
                DeadlineRule::LoanDue => "loan due date".into(),
                DeadlineRule::VoucherDue => "voucher due date".into(),
            };
            let _ = write!(label, "; deadline {rule}");
        }
        let _ = writeln!(out, "    {}: {}", s.name, label);
    }
    for t in p.transitions {
        let from = if t.from == START { "[*]" } else { t.from };
        let _ = writeln!(out, "    {from} --> {}: {} by {}", t.to, t.call, actor(t.actor));
    }
    for s in p.states.iter().filter(|s| s.terminal) {
        let _ = writeln!(out, "    {} --> [*]", s.name);
    }
    out
}

/// The whole `docs/workflows.md`.
pub fn workflows_markdown() -> String {
    let mut out = String::from(
        "# Workflows\n\n\
         <!-- Generated from domain/src/workflow/definitions.rs; do not edit by hand. Regenerate with\n\
         `UPDATE_DOCS=1 cargo test -p scf-workflows --lib diagram` -->\n\n\
         Multi-party processes whose steps are on-chain transitions of the `workflow` module and whose\n\
         deadlines are fired by the `scf-workflows` timer service from committed block time. A call not\n\
         listed for the current state is refused (`WORKFLOW_TRANSITION_NOT_ALLOWED`); a party's call after\n\
         its step's deadline is refused (`WORKFLOW_DEADLINE_PASSED`); `Expire` succeeds only after the\n\
         deadline and only once.\n",
    );
    for p in PROCESSES {
        let _ = write!(out, "\n## {}\n\n", p.title);
        out.push_str("| state | waiting for | deadline | on expiry |\n|---|---|---|---|\n");
        for s in p.states {
            let waiting =
                s.waiting_for.map(actor).unwrap_or_else(|| if s.terminal { "— (final)".into() } else { "—".into() });
            let (deadline, expiry) = match s.deadline {
                Some(d) => (
                    match d.rule {
                        DeadlineRule::Days(n) => format!("{n} days"),
                        DeadlineRule::LoanDue => "end of the loan due date".into(),
                        DeadlineRule::VoucherDue => "end of the voucher due date".into(),
                    },
                    format!("→ `{}`: {}", d.on_expiry, d.effect),
                ),
                None => ("—".into(), "—".into()),
            };
            let _ = writeln!(out, "| `{}` | {} | {} | {} |", s.name, waiting, deadline, expiry);
        }
        out.push_str("\n| from | call | by | to | effect |\n|---|---|---|---|---|\n");
        for t in p.transitions {
            let _ = writeln!(out, "| `{}` | `{}` | {} | `{}` | {} |", t.from, t.call, actor(t.actor), t.to, t.effect);
        }
        if !p.reminders_days_before.is_empty() {
            let days: Vec<String> = p.reminders_days_before.iter().map(|d| d.to_string()).collect();
            let _ = writeln!(
                out,
                "\nReminders (off chain, no transaction): {} day(s) before the deadline.",
                days.join(", ")
            );
        }
        let _ = write!(out, "\n```mermaid\n{}```\n", mermaid(p));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/workflows.md` must be what the definitions generate.
    #[test]
    fn diagram_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/workflows.md");
        let want = workflows_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &want).expect("write docs/workflows.md");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/workflows.md is out of date with domain/src/workflow/definitions.rs; regenerate it with \
             `UPDATE_DOCS=1 cargo test -p scf-workflows --lib diagram`"
        );
    }

    #[test]
    fn every_process_has_a_diagram_with_its_transitions() {
        let doc = workflows_markdown();
        for p in PROCESSES {
            assert!(doc.contains(p.title));
            for t in p.transitions {
                assert!(mermaid(p).contains(&format!("--> {}: {}", t.to, t.call)), "{}: {}", p.id, t.call);
            }
        }
    }
}
