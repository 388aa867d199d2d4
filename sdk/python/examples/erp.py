"""An ERP integration: the supplier's ERP issues an e-invoice (数电票) to the core enterprise through its
session (the server signs with the user's custodial key); the core enterprise's ERP holds its own SM2 key
— registered once by an admin of the organisation — and signs the voucher (应收账款电子凭证) backed by
that invoice itself: nonce, Borsh body, SM2 signature, dry run, submit.

    SCF_URL=http://127.0.0.1:8080 python examples/erp.py      (against `scf demo`)
"""

import datetime
import os
import time

from scf_sdk import ScfClient, Sm2Key, voucher_issue


def business_day(offset_days=0):
    """A day in the business time zone (UTC+8), as YYYY-MM-DD."""
    tz = datetime.timezone(datetime.timedelta(hours=8))
    return (datetime.datetime.now(tz) + datetime.timedelta(days=offset_days)).date().isoformat()


def run_erp(url, password="scf-demo-2026", log=print):
    unique = str(time.time_ns() // 1_000_000)[-10:]
    invoice_number = "2631200000" + unique
    voucher_no = "ERP-PY-" + unique
    amount = 33_900_000  # fen

    # 1. The supplier's ERP (HLBRAKE) issues the invoice to HSAUTO.
    supplier = ScfClient(url)
    supplier.login("wang.fang", password)
    invoice = supplier.issue_invoice(
        {
            "number": invoice_number,
            "issueDate": business_day(),
            "seller": {"name": "江苏恒力制动系统有限公司", "taxId": "91320400MA1MHL0B02"},
            "buyer": {"name": "华晟汽车集团有限公司", "taxId": "91310000MA1FL5HS01"},
            "buyerOrg": "HSAUTO",
            "lines": [
                {"itemName": "*汽车零部件*制动盘", "spec": "BD-320", "unit": "件", "quantity": "1000",
                 "unitPrice": "300.00", "amount": 30_000_000, "taxRateBp": 1300, "taxAmount": 3_900_000}
            ],
            "totalAmount": 30_000_000,
            "totalTax": 3_900_000,
            "totalWithTax": amount,
            "issuer": "王芳",
        }
    )
    log(f"invoice {invoice_number} issued in block {invoice['height']}")

    # 2. The core enterprise's ERP key, registered once as an account by an admin.
    key = Sm2Key.generate()
    admin = ScfClient(url)
    admin.login("zhang.wei", password)
    admin.register_account_key(key.public_key_hex, f"ERP signer {unique}")
    log(f"ERP key {key.address} registered as an account of HSAUTO")

    # 3. The voucher, built and signed by the ERP itself.
    erp = ScfClient(url)
    call = voucher_issue(voucher_no, "HLBRAKE", amount, business_day(90), f"HS-CG-{unique}", [invoice_number])
    issued = erp.sign_and_submit(key, call)
    log(f"voucher {voucher_no} issued in block {issued['height']} (tx {issued['txId']})")
    v = admin.voucher(voucher_no)
    log(f"voucher {v['id']}: {v['status']}, held by {v['holder']}")
    return {"invoice": invoice_number, "voucher_no": voucher_no, "voucher": v, "tx_id": issued["txId"], "address": key.address}


if __name__ == "__main__":
    run_erp(os.environ.get("SCF_URL", "http://127.0.0.1:8080"))
