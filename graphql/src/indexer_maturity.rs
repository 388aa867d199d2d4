//! Maturity reminders in the read model: the obligor and every holder of a voucher tree hear of its
//! due date the given number of days before (`definitions::MATURITY.reminders_days_before`), when a
//! committed block's time passes the end of that day. They follow from block times and the vouchers
//! alone, so every member's read model gives the same reminders, once, with no transaction (a rebuild
//! from genesis gives them again, identically).

use scf_domain::date::Date;
use scf_domain::voucher::VoucherState;
use scf_domain::workflow::{definitions, end_of_day_ms};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use crate::db::entities::{notice, voucher};
use crate::schema::input::to_i64;

/// At most this many days of reminders are looked for between two blocks (a chain idle longer than a
/// year gives the last year's).
const MAX_GAP_DAYS: i32 = 400;

/// The (due date, days before) pairs whose reminder falls between two block times: the end of day
/// `due - days - 1` (business time zone) is at or after `prev_ms` and before `now_ms`.
pub fn due_dates(prev_ms: u64, now_ms: u64) -> Vec<(Date, u32)> {
    let mut out = Vec::new();
    if now_ms <= prev_ms {
        return out;
    }
    let last = Date::from_time_ms(now_ms);
    let first = Date::from_time_ms(prev_ms).add_days(-1).max(last.add_days(-MAX_GAP_DAYS));
    let mut day = first;
    while day <= last {
        let eod = end_of_day_ms(day);
        if prev_ms <= eod && eod < now_ms {
            for &d in definitions::MATURITY.reminders_days_before {
                out.push((day.add_days(d as i32 + 1), d));
            }
        }
        day = day.add_days(1);
    }
    out
}

/// Reminders for the trees due on those dates that still have a live leaf (not paid, not void), to
/// their obligor and to each holder of a live leaf. Read after the block's own vouchers are written.
pub async fn reminders(
    txn: &DatabaseTransaction,
    prev_ms: u64,
    now_ms: u64,
    height: u64,
) -> Result<Vec<notice::Model>, sea_orm::DbErr> {
    let live = [VoucherState::Pending.name(), VoucherState::Active.name()];
    let mut out = Vec::new();
    for (due, days) in due_dates(prev_ms, now_ms) {
        let roots = voucher::Entity::find()
            .filter(voucher::Column::ParentId.is_null())
            .filter(voucher::Column::DueDate.eq(due.to_string()))
            .all(txn)
            .await?;
        for root in roots {
            let leaves = voucher::Entity::find()
                .filter(voucher::Column::RootId.eq(root.id.clone()))
                .filter(voucher::Column::Status.is_in(live))
                .all(txn)
                .await?;
            if leaves.is_empty() {
                continue;
            }
            let mut orgs: Vec<String> = leaves.into_iter().map(|l| l.holder).collect();
            orgs.push(root.issuer.clone());
            orgs.sort();
            orgs.dedup();
            for org in orgs {
                out.push(notice::Model {
                    org_id: org,
                    id: format!("remind/{}/{days:03}", root.id),
                    kind: "MaturityReminder".into(),
                    subject: root.id.clone(),
                    message: format!("voucher {} is due on {due} ({days} day(s) left)", root.id),
                    time_ms: to_i64(now_ms),
                    height: to_i64(height),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ymd: &str, hh: u64) -> u64 {
        let d = Date::parse(ymd).expect("date");
        // hh:00 Beijing time.
        (d.0 as i64 * 86_400_000) as u64 + hh * 3_600_000 - 8 * 3_600_000
    }

    #[test]
    fn a_reminder_falls_when_block_time_passes_the_end_of_its_day_once() {
        let days = definitions::MATURITY.reminders_days_before;
        assert!(!days.is_empty(), "the maturity process declares reminders");
        let d = days[0];
        let due = Date::parse("2026-05-29").expect("date");
        let day = due.add_days(-(d as i32) - 1);
        let eod = end_of_day_ms(day);
        // Blocks before, across and after the end of that day.
        assert!(!due_dates(eod - 10_000, eod - 1).contains(&(due, d)));
        assert!(due_dates(eod - 1, eod + 1).contains(&(due, d)));
        assert!(!due_dates(eod + 1, eod + 10_000).contains(&(due, d)));
        // A chain idle for a week still gives it, once, in the block that ends the gap.
        let hits: usize =
            due_dates(at("2026-05-10", 10), at("2026-05-27", 10)).iter().filter(|x| **x == (due, d)).count();
        assert_eq!(hits, 1);
        assert!(due_dates(10, 10).is_empty());
    }
}
