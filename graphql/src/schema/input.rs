//! Reading GraphQL arguments into domain values, one way everywhere: each failure names the argument
//! and the rule (`amount: must be a positive number of fen`).

use scf_domain::date::Date;

use crate::error::{ApiError, ApiResult};

/// Default and largest page of a list.
pub const DEFAULT_PAGE: i32 = 20;
pub const MAX_PAGE: i32 = 100;

/// Largest page of a voucher's lineage and of a block's transactions (unpaged before; the UI's pages ask
/// for the default).
pub const MAX_NESTED_PAGE: i32 = 1_000;

/// Page bounds of a list: `first` when not given, and its largest value.
#[derive(Clone, Copy)]
struct Paging {
    default: i32,
    max: i32,
}

/// Top-level lists (`vouchers`, `blocks`, …).
const TOP: Paging = Paging { default: DEFAULT_PAGE, max: MAX_PAGE };
/// Lists nested in an object (`Voucher.lineage`, `Block.transactions`).
const NESTED: Paging = Paging { default: MAX_PAGE, max: MAX_NESTED_PAGE };

impl Paging {
    fn size(self, first: Option<i32>) -> ApiResult<u64> {
        match first.unwrap_or(self.default) {
            n if (1..=self.max).contains(&n) => Ok(n as u64),
            _ => Err(ApiError::bad_input("first", format!("must be 1..={}", self.max))),
        }
    }

    /// The page size (as [`Paging::size`] reads `first`, clamped) times one element's cost, capped.
    fn cost(self, first: Option<i32>, child_complexity: usize) -> usize {
        let page = first.unwrap_or(self.default).clamp(1, self.max) as usize;
        page.saturating_mul(child_complexity).saturating_add(1).min(MAX_LIST_COST)
    }
}

/// What a list costs in a query's complexity: its page size (at most `MAX_PAGE`) times what one element
/// costs, so nested lists multiply and a request's complexity bounds the objects it can make the server
/// build.
pub fn list_cost(first: Option<i32>, child_complexity: usize) -> usize {
    TOP.cost(first, child_complexity)
}

/// Most a single list may cost: far above any limit, and small enough that async-graphql's unchecked
/// sums of sibling costs cannot overflow (a debug build panics on overflow; a release build would wrap
/// a huge cost around to a small one and let the request through).
pub const MAX_LIST_COST: usize = 1 << 32;

/// [`list_cost`] for the nested lists, paged up to [`MAX_NESTED_PAGE`] (`MAX_PAGE` by default).
pub fn nested_list_cost(first: Option<i32>, child_complexity: usize) -> usize {
    NESTED.cost(first, child_complexity)
}

/// The page size of a nested list (`Voucher.lineage`, `Block.transactions`): `1..=MAX_NESTED_PAGE`,
/// `MAX_PAGE` when not given.
pub fn nested_page_size(first: Option<i32>) -> ApiResult<u64> {
    NESTED.size(first)
}

/// A `YYYY-MM-DD` date.
pub fn date(field: &str, s: &str) -> ApiResult<Date> {
    Date::parse(s).ok_or_else(|| ApiError::bad_input(field, "expected a date YYYY-MM-DD"))
}

/// A positive amount in fen.
pub fn fen(field: &str, v: i64) -> ApiResult<u64> {
    match u64::try_from(v) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ApiError::bad_input(field, "must be a positive number of fen")),
    }
}

/// A positive quantity.
pub fn positive(field: &str, v: i64) -> ApiResult<u64> {
    match u64::try_from(v) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ApiError::bad_input(field, "must be positive")),
    }
}

/// A count, amount or time that may be zero but not negative.
pub fn non_negative(field: &str, v: i64) -> ApiResult<u64> {
    u64::try_from(v).map_err(|_| ApiError::bad_input(field, "must not be negative"))
}

/// Basis points, a sequence number or another small count: not negative.
pub fn non_negative_u32(field: &str, v: i32) -> ApiResult<u32> {
    u32::try_from(v).map_err(|_| ApiError::bad_input(field, "must not be negative"))
}

/// The size of a page of a list: `1..=MAX_PAGE`, `DEFAULT_PAGE` when not given.
pub fn page_size(first: Option<i32>) -> ApiResult<u64> {
    TOP.size(first)
}

/// A `u64` as GraphQL's `Int` (64-bit here); larger values, which no amount or height reaches, saturate.
pub fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
