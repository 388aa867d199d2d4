//! The declared multi-party processes: every state, who the process waits for in it, its deadline and
//! what happens when the deadline passes, and every transition with the call and the party that makes
//! it. This table is the single source of truth: the `workflow` module refuses any call the table does
//! not list for the instance's current state, takes deadlines from here, and `scf-workflows` draws the
//! Mermaid diagrams in `docs/workflows.md` from it.

use crate::org::Role;

/// Who acts (or who is waited for). Parties are resolved against the instance (the applicant, the
/// named funder, the receipt's warehouse operator...), and some must also hold an on-chain role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The supplier holding the voucher being financed.
    Supplier,
    /// The funder named in the application.
    Funder,
    /// The warehouse operator (保管人) of the pledged receipt.
    Warehouse,
    /// The holder of the warehouse receipt (存货人).
    Depositor,
    /// The core enterprise that owes the voucher.
    Obligor,
    /// The regulator (监管).
    Regulator,
    /// Any registered organisation: the timer service of any node, so no single node is trusted to fire.
    AnyMember,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Supplier => "supplier",
            Party::Funder => "funder",
            Party::Warehouse => "warehouse",
            Party::Depositor => "depositor",
            Party::Obligor => "obligor",
            Party::Regulator => "regulator",
            Party::AnyMember => "any member",
        }
    }
    /// The on-chain role the acting organisation must also hold.
    pub fn role(self) -> Option<Role> {
        match self {
            Party::Supplier => Some(Role::Supplier),
            Party::Funder => Some(Role::Funder),
            Party::Warehouse => Some(Role::WarehouseOperator),
            Party::Obligor => Some(Role::CoreEnterprise),
            Party::Regulator => Some(Role::Regulator),
            Party::Depositor | Party::AnyMember => None,
        }
    }
}

/// How long a step may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineRule {
    /// This many days (of block time) after the instance entered the state.
    Days(u32),
    /// The end of the loan's agreed repayment day (business calendar).
    LoanDue,
    /// The end of the voucher's due date (business calendar).
    VoucherDue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub rule: DeadlineRule,
    /// State the instance moves to when `Expire` is executed after the deadline.
    pub on_expiry: &'static str,
    /// What expiry does besides the state change (for people reading the diagram).
    pub effect: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateDef {
    pub name: &'static str,
    /// The party whose task inbox shows the instance while it is in this state.
    pub waiting_for: Option<Party>,
    pub deadline: Option<Deadline>,
    pub terminal: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransitionDef {
    /// `START` for the call that creates the instance.
    pub from: &'static str,
    pub to: &'static str,
    /// The `WorkflowCall` (or, for the maturity process, voucher call) name.
    pub call: &'static str,
    pub actor: Party,
    /// What the transition does on chain besides the state change.
    pub effect: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessDef {
    pub id: &'static str,
    pub title: &'static str,
    pub states: &'static [StateDef],
    pub transitions: &'static [TransitionDef],
    /// Off-chain reminders: days before the deadline of the first state at which the waiting party (and,
    /// for maturity, every holder) is reminded (no transaction; an inbox item and notices).
    pub reminders_days_before: &'static [u32],
}

/// The pseudo-state a creating call starts from.
pub const START: &str = "[*]";
/// The call the timer service submits when a deadline has passed.
pub const EXPIRE: &str = "Expire";

/// Days a funder has to answer a financing application (and again after each answer to a question).
pub const FUNDER_RESPONSE_DAYS: u32 = 5;
/// Days a supplier has to answer a funder's request for information.
pub const INFO_RESPONSE_DAYS: u32 = 5;
/// Days a warehouse has to confirm the goods behind a pledge application.
pub const WAREHOUSE_CONFIRM_DAYS: u32 = 3;
/// Days a funder has to act on a margin call before the regulator is told.
pub const MARGIN_CALL_DAYS: u32 = 3;

const fn state(name: &'static str, waiting_for: Option<Party>, deadline: Option<Deadline>) -> StateDef {
    StateDef { name, waiting_for, deadline, terminal: false }
}
const fn end(name: &'static str) -> StateDef {
    StateDef { name, waiting_for: None, deadline: None, terminal: true }
}
const fn days(n: u32, on_expiry: &'static str, effect: &'static str) -> Option<Deadline> {
    Some(Deadline { rule: DeadlineRule::Days(n), on_expiry, effect })
}
const fn t(
    from: &'static str,
    to: &'static str,
    call: &'static str,
    actor: Party,
    effect: &'static str,
) -> TransitionDef {
    TransitionDef { from, to, call, actor, effect }
}

/// Voucher financing (保理/融资).
pub const FINANCING: ProcessDef = ProcessDef {
    id: "financing",
    title: "Voucher financing (保理/融资)",
    states: &[
        state(
            "submitted",
            Some(Party::Funder),
            days(FUNDER_RESPONSE_DAYS, "expired", "the financing offer on the voucher is withdrawn"),
        ),
        state(
            "info_requested",
            Some(Party::Supplier),
            days(INFO_RESPONSE_DAYS, "expired", "the financing offer on the voucher is withdrawn"),
        ),
        state("approved", Some(Party::Funder), None),
        state("disbursed", Some(Party::Supplier), None),
        end("completed"),
        end("rejected"),
        end("withdrawn"),
        end("expired"),
    ],
    transitions: &[
        t(START, "submitted", "ApplyFinancing", Party::Supplier, "voucher reserved: financing offer to the funder"),
        t("submitted", "submitted", "CheckInvoices", Party::Funder, "查验 of every backing invoice recorded"),
        t("submitted", "info_requested", "RequestInfo", Party::Funder, "question recorded"),
        t("info_requested", "submitted", "ProvideInfo", Party::Supplier, "answer and documents recorded"),
        t(
            "submitted",
            "approved",
            "ApproveFinancing",
            Party::Funder,
            "invoices re-checked; voucher to funder, invoices locked, registration record",
        ),
        t("submitted", "rejected", "RejectFinancing", Party::Funder, "financing offer withdrawn"),
        t("info_requested", "rejected", "RejectFinancing", Party::Funder, "financing offer withdrawn"),
        t("submitted", "withdrawn", "WithdrawFinancing", Party::Supplier, "applicant withdraws; offer withdrawn"),
        t("info_requested", "withdrawn", "WithdrawFinancing", Party::Supplier, "applicant withdraws; offer withdrawn"),
        t("submitted", "expired", EXPIRE, Party::AnyMember, "after the deadline; offer withdrawn"),
        t("info_requested", "expired", EXPIRE, Party::AnyMember, "after the deadline; offer withdrawn"),
        t(
            "approved",
            "disbursed",
            "RecordDisbursement",
            Party::Funder,
            "off-chain payment reference of the net amount",
        ),
        t("disbursed", "completed", "ConfirmReceipt", Party::Supplier, "supplier confirms the money arrived"),
    ],
    reminders_days_before: &[],
};

/// Warehouse-receipt pledge financing (仓单质押).
pub const PLEDGE: ProcessDef = ProcessDef {
    id: "pledge",
    title: "Warehouse-receipt pledge financing (仓单质押)",
    states: &[
        state("applied", Some(Party::Warehouse), days(WAREHOUSE_CONFIRM_DAYS, "expired", "application cancelled")),
        state("goods_confirmed", Some(Party::Funder), days(FUNDER_RESPONSE_DAYS, "expired", "application cancelled")),
        state(
            "pledged",
            Some(Party::Depositor),
            Some(Deadline {
                rule: DeadlineRule::LoanDue,
                on_expiry: "overdue",
                effect: "unpaid loan escalated to the funder and the regulator",
            }),
        ),
        state("overdue", Some(Party::Depositor), None),
        state("repaid", Some(Party::Funder), None),
        end("released"),
        end("rejected"),
        end("withdrawn"),
        end("expired"),
    ],
    transitions: &[
        t(START, "applied", "ApplyPledge", Party::Depositor, "application for a loan against the receipt"),
        t(
            "applied",
            "goods_confirmed",
            "ConfirmGoods",
            Party::Warehouse,
            "goods value and current IoT status recorded; receipt must not be flagged",
        ),
        t("applied", "rejected", "RejectPledge", Party::Warehouse, "goods not confirmed"),
        t(
            "goods_confirmed",
            "pledged",
            "ApprovePledge",
            Party::Funder,
            "loan ≤ pledge rate × goods value; pledge lock on the receipt",
        ),
        t("goods_confirmed", "rejected", "RejectPledge", Party::Funder, "loan refused"),
        t("applied", "withdrawn", "WithdrawPledge", Party::Depositor, "applicant withdraws before any decision"),
        t("goods_confirmed", "withdrawn", "WithdrawPledge", Party::Depositor, "applicant withdraws before the loan"),
        t("applied", "expired", EXPIRE, Party::AnyMember, "after the deadline"),
        t("goods_confirmed", "expired", EXPIRE, Party::AnyMember, "after the deadline"),
        t("pledged", "overdue", EXPIRE, Party::AnyMember, "after the loan due date; escalation event"),
        t("pledged", "repaid", "RecordRepayment", Party::Depositor, "off-chain repayment reference"),
        t("overdue", "repaid", "RecordRepayment", Party::Depositor, "off-chain repayment reference"),
        t("repaid", "released", "ReleasePledge", Party::Funder, "pledge lock released"),
    ],
    reminders_days_before: &[],
};

/// A margin call (追加保证金) on pledged goods after an IoT alert flagged the receipt.
pub const MARGIN_CALL: ProcessDef = ProcessDef {
    id: "margin_call",
    title: "Margin call on pledged goods (追加保证金)",
    states: &[
        state(
            "open",
            Some(Party::Funder),
            days(MARGIN_CALL_DAYS, "escalated", "the regulator is told the margin call is unanswered"),
        ),
        state("escalated", Some(Party::Funder), None),
        end("resolved"),
    ],
    transitions: &[
        t(
            START,
            "open",
            "OpenMarginCall",
            Party::AnyMember,
            "the pledged receipt is flagged (IoT alert); funder tasked, depositor notified",
        ),
        t("open", "resolved", "ResolveMarginCall", Party::Funder, "resolution recorded"),
        t("open", "escalated", EXPIRE, Party::AnyMember, "after the deadline; regulator notified"),
        t("escalated", "resolved", "ResolveMarginCall", Party::Funder, "resolution recorded"),
    ],
    reminders_days_before: &[],
};

/// Maturity and clearing (兑付/清分) of a voucher tree. The payment itself is the voucher module's
/// `RecordPayment`; the workflow adds reminders and the overdue escalation.
pub const MATURITY: ProcessDef = ProcessDef {
    id: "maturity",
    title: "Voucher maturity and clearing (兑付/清分)",
    states: &[
        state(
            "outstanding",
            Some(Party::Obligor),
            Some(Deadline {
                rule: DeadlineRule::VoucherDue,
                on_expiry: "overdue",
                effect: "voucher marked overdue; escalation to funders holding it and the regulator",
            }),
        ),
        state("overdue", Some(Party::Obligor), None),
        end("cleared"),
    ],
    transitions: &[
        t(START, "outstanding", "voucher.Issue", Party::Obligor, "voucher issued with a due date"),
        t(
            "outstanding",
            "cleared",
            "voucher.RecordPayment",
            Party::Obligor,
            "on/after the due date; clearing says what each holder is owed",
        ),
        t("outstanding", "overdue", "EscalateOverdue", Party::AnyMember, "after the due date, unpaid"),
        t("overdue", "cleared", "voucher.RecordPayment", Party::Obligor, "late payment; clearing"),
    ],
    reminders_days_before: &[7, 1],
};

/// Every declared process, in the order the documentation shows them.
pub const PROCESSES: &[ProcessDef] = &[FINANCING, PLEDGE, MARGIN_CALL, MATURITY];

impl ProcessDef {
    pub fn state(&self, name: &str) -> Option<&'static StateDef> {
        self.states.iter().find(|s| s.name == name)
    }
    /// The declared transition for `call` out of `from`, if any.
    pub fn transition(&self, from: &str, call: &str) -> Option<&'static TransitionDef> {
        self.transitions.iter().find(|t| t.from == from && t.call == call)
    }
}

/// The process with this id.
pub fn process(id: &str) -> Option<&'static ProcessDef> {
    PROCESSES.iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every transition connects declared states, every non-terminal state can be left, every state
    /// with a deadline has an `Expire` transition to its expiry state, and terminal states are dead ends.
    #[test]
    fn definitions_are_consistent() {
        for p in PROCESSES {
            for tr in p.transitions {
                assert!(tr.from == START || p.state(tr.from).is_some(), "{}: unknown from {}", p.id, tr.from);
                assert!(p.state(tr.to).is_some(), "{}: unknown to {}", p.id, tr.to);
                if let Some(s) = p.state(tr.from) {
                    assert!(!s.terminal, "{}: transition out of terminal {}", p.id, s.name);
                }
                let dup = p.transitions.iter().filter(|o| o.from == tr.from && o.call == tr.call).count();
                assert_eq!(dup, 1, "{}: {} from {} declared twice", p.id, tr.call, tr.from);
            }
            for s in p.states {
                if !s.terminal {
                    assert!(p.transitions.iter().any(|tr| tr.from == s.name), "{}: {} is a dead end", p.id, s.name);
                }
                if let Some(d) = s.deadline {
                    let expiry = p
                        .transition(s.name, EXPIRE)
                        .or_else(|| p.transitions.iter().find(|tr| tr.from == s.name && tr.to == d.on_expiry));
                    assert_eq!(expiry.map(|tr| tr.to), Some(d.on_expiry), "{}: expiry of {}", p.id, s.name);
                }
            }
        }
    }
}
