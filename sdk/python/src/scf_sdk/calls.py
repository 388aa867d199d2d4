"""Module call payloads (each module's Borsh call enum: a ``u8`` variant index, then the fields in
declaration order). Only the calls the examples sign are here; others follow the module's enum in
``domain/src/``."""

import datetime

from .borsh import BorshWriter
from .tx import Call


def epoch_days(ymd: str) -> int:
    """Days since 1970-01-01 of a ``YYYY-MM-DD`` date (the domain's ``Date``, an ``i32``)."""
    d = datetime.date.fromisoformat(ymd)
    return (d - datetime.date(1970, 1, 1)).days


def voucher_issue(
    voucher_no: str,
    to: str,
    amount: int,
    due_date: str,
    contract_ref: str,
    invoices,
    currency: str = "CNY",
    allow_over_six_months: bool = False,
) -> Call:
    """``VoucherCall::Issue``: the core enterprise issues a receivable voucher (amount in fen)."""
    w = (
        BorshWriter()
        .u8(0)
        .string(voucher_no)
        .string(to)
        .u64(amount)
        .string(currency)
        .i32(epoch_days(due_date))
        .string(contract_ref)
        .vec(list(invoices), lambda w, s: w.string(s))
        .bool(allow_over_six_months)
    )
    return Call("voucher", w.finish())


def voucher_sign_for(voucher_id: str) -> Call:
    """``VoucherCall::SignFor``: the holder accepts a pending voucher (签收)."""
    return Call("voucher", BorshWriter().u8(1).string(voucher_id).finish())
