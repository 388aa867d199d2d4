//! Import and export of e-invoices as UBL 2.1 invoices following the EN 16931 core (BT-1 number, BT-2
//! issue date, BT-5 currency, seller and buyer with tax ids, lines, VAT breakdown, document totals).
//!
//! Why a small document tree instead of serde: errors must name the element path
//! (`Invoice/cac:InvoiceLine[2]/cbc:LineExtensionAmount: ...`) so whoever produced a bad document can
//! fix it, and UBL puts meaning in element order, prefixes and attributes that a derive would hide.
//!
//! Mapping choices (documented so exports round-trip):
//! - 规格型号 travels as `cac:Item/cac:AdditionalItemProperty` named `规格型号`; the unit as the
//!   `unitCode` attribute of `cbc:InvoicedQuantity`; 开票人 as the seller's `cac:Contact/cbc:Name`.
//! - EN 16931 lines carry no tax amount; on import each line's tax is the line amount × rate rounded
//!   half up, then the VAT breakdown's tax for that rate is spread over the rate's lines one fen at a time
//!   (a breakdown further off than one fen per line is refused).
//! - Allowances, charges, prepaid amounts and credit notes are not supported and are refused by name.

use std::collections::BTreeMap;
use std::io::Cursor;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};

use crate::date::Date;
use crate::invoice::{self, InvoiceDetails, InvoiceLine, NewInvoice, Party, PartyDetails, PaymentMeans, PostalAddress};
use crate::kv::Rule;
use crate::money::{self, Fen};

pub const INVOICE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
pub const CAC_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
pub const CBC_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";
/// EN 16931 customization id written on export.
pub const EN16931: &str = "urn:cen.eu:en16931:2017";
/// Name of the additional item property that carries 规格型号.
pub const SPEC_PROPERTY: &str = "规格型号";
/// Name of the additional item property that carries the unit as written (单位) when it is not a
/// UN/ECE Rec 20 code.
pub const UNIT_PROPERTY: &str = "单位";

/// Largest document accepted (fits in one transaction).
pub const MAX_UBL_BYTES: usize = 200 * 1024;
const MAX_DEPTH: usize = 24;
const MAX_ELEMENTS: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UblError {
    #[error("document: {len} bytes, larger than the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("document: not well-formed XML near byte {position}: {reason}")]
    Malformed { position: u64, reason: String },
    #[error("{path}: required element is missing")]
    Missing { path: String },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("{path}: {reason}")]
    Mismatch { path: String, reason: String },
    #[error("{path}: not supported: {reason}")]
    Unsupported { path: String, reason: String },
}

impl Rule for UblError {
    fn code(&self) -> &'static str {
        match self {
            UblError::TooLarge { .. } => "UBL_TOO_LARGE",
            UblError::Malformed { .. } => "UBL_MALFORMED",
            UblError::Missing { .. } => "UBL_MISSING_ELEMENT",
            UblError::Invalid { .. } => "UBL_INVALID_VALUE",
            UblError::Mismatch { .. } => "UBL_TOTALS_MISMATCH",
            UblError::Unsupported { .. } => "UBL_UNSUPPORTED",
        }
    }
}

/// One element of the parsed document.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<El>,
}

impl El {
    fn local(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }
    fn prefix(&self) -> Option<&str> {
        self.name.split_once(':').map(|(p, _)| p)
    }
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// Children with a local name, each with its path (indexed when the name repeats).
    fn all<'a>(&'a self, path: &str, qname: &str) -> Vec<(&'a El, String)> {
        let local = qname.rsplit(':').next().unwrap_or(qname);
        let found: Vec<&El> = self.children.iter().filter(|c| c.local() == local).collect();
        let many = found.len() > 1;
        found
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let p = if many { format!("{path}/{}[{}]", c.name, i + 1) } else { format!("{path}/{}", c.name) };
                (c, p)
            })
            .collect()
    }
    fn opt<'a>(&'a self, path: &str, qname: &str) -> Option<(&'a El, String)> {
        let local = qname.rsplit(':').next().unwrap_or(qname);
        self.children.iter().find(|c| c.local() == local).map(|c| (c, format!("{path}/{}", c.name)))
    }
    fn req<'a>(&'a self, path: &str, qname: &str) -> Result<(&'a El, String), UblError> {
        self.opt(path, qname).ok_or_else(|| UblError::Missing { path: format!("{path}/{qname}") })
    }
    fn req_text(&self, path: &str, qname: &str) -> Result<(String, String), UblError> {
        let (el, p) = self.req(path, qname)?;
        let t = el.text.trim().to_string();
        if t.is_empty() {
            return Err(UblError::Invalid { path: p, reason: "must not be empty".into() });
        }
        Ok((t, p))
    }
}

fn utf8(bytes: &[u8], position: u64) -> Result<String, UblError> {
    std::str::from_utf8(bytes).map(str::to_string).map_err(|e| UblError::Malformed { position, reason: e.to_string() })
}

fn start_el(e: &BytesStart<'_>, position: u64) -> Result<El, UblError> {
    let mut el = El { name: utf8(e.name().as_ref(), position)?, ..El::default() };
    for a in e.attributes() {
        let a = a.map_err(|err| UblError::Malformed { position, reason: err.to_string() })?;
        let key = utf8(a.key.as_ref(), position)?;
        let value = a.unescape_value().map_err(|err| UblError::Malformed { position, reason: err.to_string() })?;
        el.attrs.push((key, value.into_owned()));
    }
    Ok(el)
}

/// Parse a document into a tree, bounded in size, depth and element count.
fn parse_tree(xml: &str) -> Result<El, UblError> {
    if xml.len() > MAX_UBL_BYTES {
        return Err(UblError::TooLarge { len: xml.len(), limit: MAX_UBL_BYTES });
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    let mut count = 0usize;
    loop {
        let position = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| UblError::Malformed { position, reason: e.to_string() })?;
        match ev {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(UblError::Malformed { position, reason: "content after the root element".into() });
            }
            Event::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(UblError::Invalid {
                        path: "document".into(),
                        reason: format!("deeper than {MAX_DEPTH} or more than {MAX_ELEMENTS} elements"),
                    });
                }
                stack.push(start_el(&e, position)?);
            }
            Event::Empty(e) => {
                count += 1;
                let el = start_el(&e, position)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el =
                    stack.pop().ok_or_else(|| UblError::Malformed { position, reason: "unexpected end tag".into() })?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| UblError::Malformed { position, reason: e.to_string() })?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => {
                        return Err(UblError::Malformed { position, reason: "text outside the root element".into() })
                    }
                }
            }
            Event::CData(c) => {
                let s = utf8(&c.into_inner(), position)?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::DocType(_) => {
                return Err(UblError::Unsupported { path: "document".into(), reason: "a DOCTYPE declaration".into() });
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(UblError::Malformed {
            position: reader.buffer_position(),
            reason: "document ends inside an element".into(),
        });
    }
    root.ok_or(UblError::Malformed { position: 0, reason: "no root element".into() })
}

fn amount(el: &El, path: &str, currency: &str) -> Result<Fen, UblError> {
    let t = el.text.trim();
    let fen = money::parse_yuan(t).ok_or_else(|| UblError::Invalid {
        path: path.to_string(),
        reason: format!("{t:?} is not a non-negative amount with at most 2 decimals"),
    })?;
    match el.attr("currencyID") {
        Some(c) if c == currency => Ok(fen),
        Some(c) => Err(UblError::Invalid {
            path: format!("{path}/@currencyID"),
            reason: format!("{c} differs from the document currency {currency} (BT-5)"),
        }),
        None => Err(UblError::Missing { path: format!("{path}/@currencyID") }),
    }
}

fn req_amount(parent: &El, path: &str, qname: &str, currency: &str) -> Result<(Fen, String), UblError> {
    let (el, p) = parent.req(path, qname)?;
    Ok((amount(el, &p, currency)?, p))
}

fn percent_bp(el: &El, path: &str) -> Result<u32, UblError> {
    let t = el.text.trim();
    match money::parse_yuan(t) {
        Some(bp) if bp <= 10_000 => Ok(bp as u32),
        _ => Err(UblError::Invalid {
            path: path.to_string(),
            reason: format!("{t:?} is not a percentage 0..=100 with at most 2 decimals"),
        }),
    }
}

fn rate_of(category: Option<(&El, String)>) -> Result<u32, UblError> {
    match category.and_then(|(c, p)| c.opt(&p, "cbc:Percent")) {
        Some((el, p)) => percent_bp(el, &p),
        None => Ok(0),
    }
}

fn text_of(el: &El, path: &str, qname: &str) -> String {
    el.opt(path, qname).map(|(e, _)| e.text.trim().to_string()).unwrap_or_default()
}

/// A party (BG-4 seller / BG-7 buyer): name, tax id and the EN 16931 details around them.
fn party(root: &El, path: &str, qname: &str) -> Result<(Party, PartyDetails, Option<String>), UblError> {
    let (outer, op) = root.req(path, qname)?;
    let (p, pp) = outer.req(&op, "cac:Party")?;
    let legal = p.opt(&pp, "cac:PartyLegalEntity");
    let trading = p.opt(&pp, "cac:PartyName").map(|(pn, pnp)| text_of(pn, &pnp, "cbc:Name")).unwrap_or_default();
    let name = match legal.as_ref().and_then(|(l, lp)| l.opt(lp, "cbc:RegistrationName")) {
        Some((n, _)) if !n.text.trim().is_empty() => n.text.trim().to_string(),
        _ => match p.opt(&pp, "cac:PartyName") {
            Some((pn, pnp)) => pn.req_text(&pnp, "cbc:Name")?.0,
            None => return Err(UblError::Missing { path: format!("{pp}/cac:PartyLegalEntity/cbc:RegistrationName") }),
        },
    };
    let scheme_tax = p.opt(&pp, "cac:PartyTaxScheme").and_then(|(t, tp)| {
        let scheme = t.opt(&tp, "cac:TaxScheme").map(|(s, sp)| text_of(s, &sp, "cbc:ID")).unwrap_or_default();
        t.opt(&tp, "cbc:CompanyID").map(|c| (c, scheme))
    });
    let legal_company = legal.as_ref().and_then(|(l, lp)| l.opt(lp, "cbc:CompanyID"));
    let ((tax_el, tax_path), tax_scheme) = match (scheme_tax, legal_company.clone()) {
        // `TAX` is what the export writes for a local tax number whose scheme was not said.
        (Some((c, scheme)), _) => (c, if scheme == "TAX" { String::new() } else { scheme }),
        (None, Some(c)) => (c, String::new()),
        (None, None) => return Err(UblError::Missing { path: format!("{pp}/cac:PartyTaxScheme/cbc:CompanyID") }),
    };
    let tax_id = tax_el.text.trim().to_string();
    if !(15..=20).contains(&tax_id.len()) || !tax_id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
        return Err(UblError::Invalid {
            path: tax_path,
            reason: format!("{tax_id:?} is not a 统一社会信用代码 / tax id (15..=20 of 0-9 A-Z)"),
        });
    }
    let legal_id = legal_company.map(|(c, _)| c.text.trim().to_string()).filter(|c| *c != tax_id).unwrap_or_default();
    let (endpoint, endpoint_scheme) = match p.opt(&pp, "cbc:EndpointID") {
        Some((e, _)) => (e.text.trim().to_string(), e.attr("schemeID").unwrap_or("").to_string()),
        None => (String::new(), String::new()),
    };
    let address = match p.opt(&pp, "cac:PostalAddress") {
        Some((a, ap)) => PostalAddress {
            street: text_of(a, &ap, "cbc:StreetName"),
            additional_street: text_of(a, &ap, "cbc:AdditionalStreetName"),
            city: text_of(a, &ap, "cbc:CityName"),
            postal_code: text_of(a, &ap, "cbc:PostalZone"),
            subdivision: text_of(a, &ap, "cbc:CountrySubentity"),
            country: a
                .opt(&ap, "cac:Country")
                .map(|(c, cp)| text_of(c, &cp, "cbc:IdentificationCode"))
                .unwrap_or_default(),
        },
        None => PostalAddress::default(),
    };
    let contact = p.opt(&pp, "cac:Contact");
    let contact_text = |q: &str| contact.as_ref().map(|(c, cp)| text_of(c, cp, q)).unwrap_or_default();
    let contact_name = contact_text("cbc:Name");
    let details = PartyDetails {
        trading_name: if trading == name { String::new() } else { trading },
        legal_id,
        tax_scheme,
        endpoint,
        endpoint_scheme,
        address,
        contact_name: contact_name.clone(),
        contact_phone: contact_text("cbc:Telephone"),
        contact_email: contact_text("cbc:ElectronicMail"),
    };
    Ok((Party { name, tax_id }, details, Some(contact_name).filter(|s| !s.is_empty())))
}

fn refuse_present(el: &El, path: &str, qname: &str, what: &str) -> Result<(), UblError> {
    match el.opt(path, qname) {
        Some((_, p)) => Err(UblError::Unsupported { path: p, reason: what.to_string() }),
        None => Ok(()),
    }
}

/// Parse a UBL 2.1 invoice into an invoice to issue (`buyer_org` left empty for the caller to set).
pub fn from_ubl_xml(xml: &str) -> Result<NewInvoice, UblError> {
    let root = parse_tree(xml)?;
    let r = root.name.clone();
    if root.local() != "Invoice" {
        return Err(UblError::Invalid { path: r, reason: "root element must be Invoice (UBL 2.1)".into() });
    }
    let ns_attr = match root.prefix() {
        Some(p) => format!("xmlns:{p}"),
        None => "xmlns".to_string(),
    };
    if root.attr(&ns_attr) != Some(INVOICE_NS) {
        return Err(UblError::Invalid {
            path: format!("{r}/@{ns_attr}"),
            reason: format!("namespace must be {INVOICE_NS}"),
        });
    }
    let (number, np) = root.req_text(&r, "cbc:ID")?;
    if !invoice::valid_number(&number) {
        return Err(UblError::Invalid {
            path: np,
            reason: format!("{number:?} is not a 20-digit 数电票 number (BT-1)"),
        });
    }
    let (date_s, dp) = root.req_text(&r, "cbc:IssueDate")?;
    let issue_date = Date::parse(&date_s)
        .ok_or_else(|| UblError::Invalid { path: dp, reason: format!("{date_s:?} is not a date YYYY-MM-DD (BT-2)") })?;
    if let Some((t, tp)) = root.opt(&r, "cbc:InvoiceTypeCode") {
        if t.text.trim() != "380" {
            return Err(UblError::Unsupported {
                path: tp,
                reason: format!("invoice type {:?} (only 380, commercial invoice)", t.text.trim()),
            });
        }
    }
    let (currency, cp) = root.req_text(&r, "cbc:DocumentCurrencyCode")?;
    if !money::valid_currency(&currency) {
        return Err(UblError::Invalid { path: cp, reason: format!("{currency:?} is not an ISO 4217 code (BT-5)") });
    }
    let remarks =
        root.all(&r, "cbc:Note").iter().map(|(n, _)| n.text.trim().to_string()).collect::<Vec<_>>().join("\n");
    let (seller, mut seller_details, contact) = party(&root, &r, "cac:AccountingSupplierParty")?;
    // The seller's contact name is the 开票人 (issuer), kept there rather than twice.
    seller_details.contact_name = String::new();
    let (buyer, buyer_details, _) = party(&root, &r, "cac:AccountingCustomerParty")?;
    let due_date = match root.opt(&r, "cbc:DueDate") {
        Some((d, dp)) => Some(Date::parse(d.text.trim()).ok_or_else(|| UblError::Invalid {
            path: dp,
            reason: format!("{:?} is not a date YYYY-MM-DD (BT-9)", d.text.trim()),
        })?),
        None => None,
    };
    let payment_means = root
        .all(&r, "cac:PaymentMeans")
        .into_iter()
        .map(|(m, mp)| {
            let account = m.opt(&mp, "cac:PayeeFinancialAccount");
            PaymentMeans {
                code: text_of(m, &mp, "cbc:PaymentMeansCode"),
                payment_id: text_of(m, &mp, "cbc:PaymentID"),
                account_id: account.as_ref().map(|(a, ap)| text_of(a, ap, "cbc:ID")).unwrap_or_default(),
                account_name: account.as_ref().map(|(a, ap)| text_of(a, ap, "cbc:Name")).unwrap_or_default(),
            }
        })
        .collect();
    let payment_terms = root
        .all(&r, "cac:PaymentTerms")
        .iter()
        .flat_map(|(t, tp)| t.all(tp, "cbc:Note").into_iter().map(|(n, _)| n.text.trim().to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    let details = InvoiceDetails {
        seller: seller_details,
        buyer: buyer_details,
        due_date,
        buyer_reference: text_of(&root, &r, "cbc:BuyerReference"),
        payment_terms,
        payment_means,
    };
    refuse_present(&root, &r, "cac:AllowanceCharge", "document-level allowances and charges")?;

    // Lines.
    let line_els = root.all(&r, "cac:InvoiceLine");
    if line_els.is_empty() {
        return Err(UblError::Missing { path: format!("{r}/cac:InvoiceLine") });
    }
    if line_els.len() > invoice::MAX_LINES {
        return Err(UblError::Invalid {
            path: format!("{r}/cac:InvoiceLine"),
            reason: format!("more than {} lines", invoice::MAX_LINES),
        });
    }
    let mut lines = Vec::with_capacity(line_els.len());
    let mut line_paths = Vec::with_capacity(line_els.len());
    for (l, lp) in &line_els {
        refuse_present(l, lp, "cac:AllowanceCharge", "line allowances and charges")?;
        let (amt, _) = req_amount(l, lp, "cbc:LineExtensionAmount", &currency)?;
        let (item, ip) = l.req(lp, "cac:Item")?;
        let (item_name, _) = item.req_text(&ip, "cbc:Name")?;
        let property = |name: &str| {
            item.all(&ip, "cac:AdditionalItemProperty")
                .into_iter()
                .find(|(p, pp)| p.opt(pp, "cbc:Name").map(|(n, _)| n.text.trim() == name).unwrap_or(false))
                .and_then(|(p, pp)| p.opt(&pp, "cbc:Value").map(|(v, _)| v.text.trim().to_string()))
        };
        let spec = property(SPEC_PROPERTY).unwrap_or_default();
        let unit_name = property(UNIT_PROPERTY);
        let rate = rate_of(item.opt(&ip, "cac:ClassifiedTaxCategory"))?;
        let qty = l.opt(lp, "cbc:InvoicedQuantity");
        let price = l.opt(lp, "cac:Price");
        let unit =
            unit_name.unwrap_or_else(|| qty.as_ref().and_then(|(q, _)| q.attr("unitCode")).unwrap_or("").to_string());
        let (quantity, unit_price) = match (qty, price) {
            (Some((q, qp)), Some((p, pp))) => {
                let qt = q.text.trim().to_string();
                if invoice::parse_decimal(&qt).is_none() {
                    return Err(UblError::Invalid {
                        path: qp,
                        reason: format!("{qt:?} is not a non-negative decimal (≤12 integer, ≤6 fraction digits)"),
                    });
                }
                if let Some((b, bp)) = p.opt(&pp, "cbc:BaseQuantity") {
                    if invoice::parse_decimal(b.text.trim()).map(|(m, s)| m != 10u128.pow(s)).unwrap_or(true) {
                        return Err(UblError::Unsupported { path: bp, reason: "a base quantity other than 1".into() });
                    }
                }
                let (pa, pap) = p.req(&pp, "cbc:PriceAmount")?;
                let pt = pa.text.trim().to_string();
                if invoice::parse_decimal(&pt).is_none() {
                    return Err(UblError::Invalid {
                        path: pap,
                        reason: format!("{pt:?} is not a non-negative decimal (≤12 integer, ≤6 fraction digits)"),
                    });
                }
                if pa.attr("currencyID").is_some_and(|c| c != currency) {
                    return Err(UblError::Invalid {
                        path: format!("{pap}/@currencyID"),
                        reason: format!("differs from the document currency {currency} (BT-5)"),
                    });
                }
                (Some(qt), Some(pt))
            }
            _ => (None, None),
        };
        // One unit of "one" (C62) at the line amount is how a line without quantity and price
        // travels (EN 16931 requires both); read it back as such a line.
        let (quantity, unit_price, unit) = match (&quantity, &unit_price) {
            (Some(q), Some(p))
                if unit == "C62"
                    && q == "1"
                    && invoice::parse_decimal(p) == invoice::parse_decimal(&money::format_yuan(amt)) =>
            {
                (None, None, String::new())
            }
            _ => (quantity, unit_price, unit),
        };
        lines.push(InvoiceLine {
            item_name,
            spec,
            unit,
            quantity,
            unit_price,
            amount: amt,
            tax_rate_bp: rate,
            tax_amount: 0,
        });
        line_paths.push(lp.clone());
    }
    let sum_lines = lines
        .iter()
        .try_fold(0u64, |a, l| a.checked_add(l.amount))
        .ok_or_else(|| UblError::Invalid { path: format!("{r}/cac:InvoiceLine"), reason: "amounts overflow".into() })?;

    // VAT breakdown: one subtotal per rate, taxable amount = the rate's lines, tax spread over them.
    let (tt, ttp) = root
        .all(&r, "cac:TaxTotal")
        .into_iter()
        .next()
        .ok_or_else(|| UblError::Missing { path: format!("{r}/cac:TaxTotal") })?;
    let (total_tax, total_tax_path) = req_amount(tt, &ttp, "cbc:TaxAmount", &currency)?;
    let mut by_rate: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        by_rate.entry(l.tax_rate_bp).or_default().push(i);
    }
    let mut seen: BTreeMap<u32, String> = BTreeMap::new();
    let mut sub_tax_sum = 0u64;
    for (s, sp) in tt.all(&ttp, "cac:TaxSubtotal") {
        let (taxable, tap) = req_amount(s, &sp, "cbc:TaxableAmount", &currency)?;
        let (tax, tp) = req_amount(s, &sp, "cbc:TaxAmount", &currency)?;
        let cat = s.req(&sp, "cac:TaxCategory")?;
        let rate = rate_of(Some(cat))?;
        if seen.insert(rate, sp.clone()).is_some() {
            return Err(UblError::Invalid {
                path: sp,
                reason: format!("a second VAT breakdown for rate {}%", format_percent(rate)),
            });
        }
        let group = by_rate.get(&rate).cloned().unwrap_or_default();
        let group_amount: Fen = group.iter().map(|&i| lines[i].amount).sum();
        if taxable != group_amount {
            return Err(UblError::Mismatch {
                path: tap,
                reason: format!(
                    "{} but the lines at {}% sum to {}",
                    money::format_yuan(taxable),
                    format_percent(rate),
                    money::format_yuan(group_amount)
                ),
            });
        }
        spread_tax(&mut lines, &group, tax, &tp)?;
        sub_tax_sum = sub_tax_sum.saturating_add(tax);
    }
    for (rate, group) in &by_rate {
        if !seen.contains_key(rate) {
            let first = group.first().copied().unwrap_or(0);
            return Err(UblError::Mismatch {
                path: line_paths.get(first).cloned().unwrap_or_default(),
                reason: format!("no VAT breakdown (cac:TaxSubtotal) for rate {}%", format_percent(*rate)),
            });
        }
    }
    if sub_tax_sum != total_tax {
        return Err(UblError::Mismatch {
            path: total_tax_path,
            reason: format!(
                "{} but the VAT breakdown sums to {}",
                money::format_yuan(total_tax),
                money::format_yuan(sub_tax_sum)
            ),
        });
    }

    // Document totals.
    let (lmt, lmtp) = root.req(&r, "cac:LegalMonetaryTotal")?;
    for (q, what) in [
        ("cbc:AllowanceTotalAmount", "allowance totals"),
        ("cbc:ChargeTotalAmount", "charge totals"),
        ("cbc:PrepaidAmount", "prepaid amounts"),
        ("cbc:PayableRoundingAmount", "rounding amounts"),
    ] {
        if let Some((e, p)) = lmt.opt(&lmtp, q) {
            if money::parse_yuan(e.text.trim()) != Some(0) {
                return Err(UblError::Unsupported { path: p, reason: what.into() });
            }
        }
    }
    let with_tax = sum_lines
        .checked_add(total_tax)
        .ok_or_else(|| UblError::Invalid { path: lmtp.clone(), reason: "amounts overflow".into() })?;
    for (q, expected, what) in [
        ("cbc:LineExtensionAmount", sum_lines, "the sum of line amounts"),
        ("cbc:TaxExclusiveAmount", sum_lines, "the sum of line amounts"),
        ("cbc:TaxInclusiveAmount", with_tax, "lines plus tax"),
        ("cbc:PayableAmount", with_tax, "lines plus tax"),
    ] {
        let (v, p) = req_amount(lmt, &lmtp, q, &currency)?;
        if v != expected {
            return Err(UblError::Mismatch {
                path: p,
                reason: format!("{} but {what} is {}", money::format_yuan(v), money::format_yuan(expected)),
            });
        }
    }
    let issuer = contact.unwrap_or_else(|| seller.name.clone());
    Ok(NewInvoice {
        number,
        issue_date,
        currency,
        seller,
        buyer,
        buyer_org: None,
        lines,
        total_amount: sum_lines,
        total_tax,
        total_with_tax: with_tax,
        remarks,
        issuer,
        details,
    })
}

/// Give each line of a rate group its rounded tax, then move the group's total to `tax` one fen per
/// line at most, so the per-line tax stays within the tax system's rounding tolerance.
fn spread_tax(lines: &mut [InvoiceLine], group: &[usize], tax: Fen, path: &str) -> Result<(), UblError> {
    let mut base_sum = 0u64;
    for &i in group {
        let t = invoice::line_tax(lines[i].amount, lines[i].tax_rate_bp).unwrap_or(u64::MAX);
        lines[i].tax_amount = t;
        base_sum = base_sum.saturating_add(t);
    }
    let mismatch = || UblError::Mismatch {
        path: path.to_string(),
        reason: format!(
            "{} differs from the lines' tax ({}) by more than one fen per line",
            money::format_yuan(tax),
            money::format_yuan(base_sum)
        ),
    };
    if tax.abs_diff(base_sum) > group.len() as u64 {
        return Err(mismatch());
    }
    let mut diff = tax.abs_diff(base_sum);
    let up = tax > base_sum;
    for &i in group {
        if diff == 0 {
            break;
        }
        if up {
            lines[i].tax_amount += 1;
            diff -= 1;
        } else if lines[i].tax_amount > 0 {
            lines[i].tax_amount -= 1;
            diff -= 1;
        }
    }
    if diff != 0 {
        return Err(mismatch());
    }
    Ok(())
}

/// Basis points as a UBL percentage ("13", "6.5", "0.25").
pub fn format_percent(bp: u32) -> String {
    let (i, f) = (bp / 100, bp % 100);
    match f {
        0 => i.to_string(),
        f if f % 10 == 0 => format!("{i}.{}", f / 10),
        f => format!("{i}.{f:02}"),
    }
}

struct Out {
    w: Writer<Cursor<Vec<u8>>>,
    err: Option<std::io::Error>,
}

impl Out {
    fn ev(&mut self, e: Event<'_>) {
        if self.err.is_none() {
            if let Err(e) = self.w.write_event(e) {
                self.err = Some(e);
            }
        }
    }
    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        let mut s = BytesStart::new(name);
        for a in attrs {
            s.push_attribute(*a);
        }
        self.ev(Event::Start(s));
    }
    fn close(&mut self, name: &str) {
        self.ev(Event::End(BytesEnd::new(name)));
    }
    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        self.ev(Event::Text(BytesText::new(text)));
        self.close(name);
    }
    fn amount(&mut self, name: &str, fen: Fen, currency: &str) {
        self.leaf(name, &[("currencyID", currency)], &money::format_yuan(fen));
    }
    fn tax_category(&mut self, name: &str, bp: u32) {
        self.open(name, &[]);
        self.leaf("cbc:ID", &[], if bp > 0 { "S" } else { "Z" });
        self.leaf("cbc:Percent", &[], &format_percent(bp));
        self.open("cac:TaxScheme", &[]);
        self.leaf("cbc:ID", &[], "VAT");
        self.close("cac:TaxScheme");
        self.close(name);
    }
    fn opt_leaf(&mut self, name: &str, text: &str) {
        if !text.is_empty() {
            self.leaf(name, &[], text);
        }
    }
    /// A party in the UBL `PartyType` element order (EndpointID, PartyName, PostalAddress,
    /// PartyTaxScheme, PartyLegalEntity, Contact).
    fn party(&mut self, name: &str, p: &Party, d: &PartyDetails, seller: bool, contact_name: &str) {
        self.open(name, &[]);
        self.open("cac:Party", &[]);
        if !d.endpoint.is_empty() {
            self.leaf("cbc:EndpointID", &[("schemeID", d.endpoint_scheme.as_str())], &d.endpoint);
        }
        if !d.trading_name.is_empty() {
            self.open("cac:PartyName", &[]);
            self.leaf("cbc:Name", &[], &d.trading_name);
            self.close("cac:PartyName");
        }
        let a = &d.address;
        if *a != PostalAddress::default() {
            self.open("cac:PostalAddress", &[]);
            self.opt_leaf("cbc:StreetName", &a.street);
            self.opt_leaf("cbc:AdditionalStreetName", &a.additional_street);
            self.opt_leaf("cbc:CityName", &a.city);
            self.opt_leaf("cbc:PostalZone", &a.postal_code);
            self.opt_leaf("cbc:CountrySubentity", &a.subdivision);
            if !a.country.is_empty() {
                self.open("cac:Country", &[]);
                self.leaf("cbc:IdentificationCode", &[], &a.country);
                self.close("cac:Country");
            }
            self.close("cac:PostalAddress");
        }
        // Where the tax id goes: under the scheme it was registered with; when that is not said, a
        // seller's 纳税人识别号 is its tax registration id (BT-32, scheme `TAX`) and a buyer's its
        // legal registration id (BT-47), since EN 16931 reserves `VAT` for country-prefixed VAT ids.
        let scheme = if !d.tax_scheme.is_empty() {
            Some(d.tax_scheme.as_str())
        } else if seller {
            Some("TAX")
        } else {
            None
        };
        if let Some(scheme) = scheme {
            self.open("cac:PartyTaxScheme", &[]);
            self.leaf("cbc:CompanyID", &[], &p.tax_id);
            self.open("cac:TaxScheme", &[]);
            self.leaf("cbc:ID", &[], scheme);
            self.close("cac:TaxScheme");
            self.close("cac:PartyTaxScheme");
        }
        self.open("cac:PartyLegalEntity", &[]);
        self.leaf("cbc:RegistrationName", &[], &p.name);
        // The 统一社会信用代码 is also the legal registration id (BT-30 / BT-47) unless another is given.
        let legal = if !d.legal_id.is_empty() {
            d.legal_id.as_str()
        } else if scheme != Some("VAT") {
            p.tax_id.as_str()
        } else {
            ""
        };
        self.opt_leaf("cbc:CompanyID", legal);
        self.close("cac:PartyLegalEntity");
        if !(contact_name.is_empty() && d.contact_phone.is_empty() && d.contact_email.is_empty()) {
            self.open("cac:Contact", &[]);
            self.opt_leaf("cbc:Name", contact_name);
            self.opt_leaf("cbc:Telephone", &d.contact_phone);
            self.opt_leaf("cbc:ElectronicMail", &d.contact_email);
            self.close("cac:Contact");
        }
        self.close("cac:Party");
        self.close(name);
    }
    fn property(&mut self, name: &str, value: &str) {
        self.open("cac:AdditionalItemProperty", &[]);
        self.leaf("cbc:Name", &[], name);
        self.leaf("cbc:Value", &[], value);
        self.close("cac:AdditionalItemProperty");
    }
}

/// UN/ECE Recommendation 20 code for a unit as written on a 数电票. A unit that already is a code
/// is kept; the common Chinese units map to their code; anything else is `C62` ("one"). The unit as
/// written travels beside it as the item property [`UNIT_PROPERTY`], so nothing is lost.
pub fn rec20_unit(unit: &str) -> &str {
    let u = unit.trim();
    if (2..=3).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return u;
    }
    match u {
        "件" | "个" | "只" | "台" | "支" | "块" | "把" | "张" | "本" | "条" | "根" | "片" | "辆" | "枚" | "颗"
        | "粒" => "H87",
        "套" => "SET",
        "双" | "对" | "副" => "PR",
        "千克" | "公斤" | "kg" => "KGM",
        "克" | "g" => "GRM",
        "吨" | "t" => "TNE",
        "米" | "m" => "MTR",
        "千米" | "公里" | "km" => "KMT",
        "厘米" | "cm" => "CMT",
        "毫米" | "mm" => "MMT",
        "平方米" | "㎡" => "MTK",
        "立方米" | "m³" => "MTQ",
        "升" | "L" => "LTR",
        "毫升" | "mL" => "MLT",
        "箱" | "盒" => "XBX",
        "袋" => "XBG",
        "瓶" => "XBO",
        "桶" => "XBA",
        "包" => "XPK",
        "天" | "日" => "DAY",
        "小时" => "HUR",
        "月" => "MON",
        "年" => "ANN",
        _ => "C62",
    }
}

/// Write an invoice (header and lines) as a UBL 2.1 / EN 16931 document. Deterministic: the same
/// invoice always gives the same bytes. `buyer_org` is a chain concept and is not exported.
pub fn to_ubl_xml(n: &NewInvoice) -> Result<String, UblError> {
    let mut o = Out { w: Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2), err: None };
    let c = n.currency.as_str();
    o.ev(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    o.open("Invoice", &[("xmlns", INVOICE_NS), ("xmlns:cac", CAC_NS), ("xmlns:cbc", CBC_NS)]);
    o.leaf("cbc:CustomizationID", &[], EN16931);
    o.leaf("cbc:ID", &[], &n.number);
    o.leaf("cbc:IssueDate", &[], &n.issue_date.to_string());
    let d = &n.details;
    if let Some(due) = d.due_date {
        o.leaf("cbc:DueDate", &[], &due.to_string());
    }
    o.leaf("cbc:InvoiceTypeCode", &[], "380");
    if !n.remarks.is_empty() {
        o.leaf("cbc:Note", &[], &n.remarks);
    }
    o.leaf("cbc:DocumentCurrencyCode", &[], c);
    o.opt_leaf("cbc:BuyerReference", &d.buyer_reference);
    o.party("cac:AccountingSupplierParty", &n.seller, &d.seller, true, &n.issuer);
    o.party("cac:AccountingCustomerParty", &n.buyer, &d.buyer, false, &d.buyer.contact_name);
    for m in &d.payment_means {
        o.open("cac:PaymentMeans", &[]);
        o.leaf("cbc:PaymentMeansCode", &[], &m.code);
        o.opt_leaf("cbc:PaymentID", &m.payment_id);
        if !m.account_id.is_empty() {
            o.open("cac:PayeeFinancialAccount", &[]);
            o.leaf("cbc:ID", &[], &m.account_id);
            o.opt_leaf("cbc:Name", &m.account_name);
            o.close("cac:PayeeFinancialAccount");
        }
        o.close("cac:PaymentMeans");
    }
    if !d.payment_terms.is_empty() {
        o.open("cac:PaymentTerms", &[]);
        o.leaf("cbc:Note", &[], &d.payment_terms);
        o.close("cac:PaymentTerms");
    }
    let mut by_rate: BTreeMap<u32, (Fen, Fen)> = BTreeMap::new();
    for l in &n.lines {
        let e = by_rate.entry(l.tax_rate_bp).or_default();
        e.0 = e.0.saturating_add(l.amount);
        e.1 = e.1.saturating_add(l.tax_amount);
    }
    o.open("cac:TaxTotal", &[]);
    o.amount("cbc:TaxAmount", n.total_tax, c);
    for (bp, (taxable, tax)) in &by_rate {
        o.open("cac:TaxSubtotal", &[]);
        o.amount("cbc:TaxableAmount", *taxable, c);
        o.amount("cbc:TaxAmount", *tax, c);
        o.tax_category("cac:TaxCategory", *bp);
        o.close("cac:TaxSubtotal");
    }
    o.close("cac:TaxTotal");
    o.open("cac:LegalMonetaryTotal", &[]);
    o.amount("cbc:LineExtensionAmount", n.total_amount, c);
    o.amount("cbc:TaxExclusiveAmount", n.total_amount, c);
    o.amount("cbc:TaxInclusiveAmount", n.total_with_tax, c);
    o.amount("cbc:PayableAmount", n.total_with_tax, c);
    o.close("cac:LegalMonetaryTotal");
    for (i, l) in n.lines.iter().enumerate() {
        o.open("cac:InvoiceLine", &[]);
        o.leaf("cbc:ID", &[], &(i + 1).to_string());
        // EN 16931 requires a quantity with its unit and a net price on every line (BR-22, BR-23,
        // BR-26): a line without them is one unit (C62) at the line amount.
        let code = if l.quantity.is_some() { rec20_unit(&l.unit) } else { "C62" };
        let quantity = l.quantity.clone().unwrap_or_else(|| "1".to_string());
        let price = l.unit_price.clone().unwrap_or_else(|| money::format_yuan(l.amount));
        o.leaf("cbc:InvoicedQuantity", &[("unitCode", code)], &quantity);
        o.amount("cbc:LineExtensionAmount", l.amount, c);
        o.open("cac:Item", &[]);
        o.leaf("cbc:Name", &[], &l.item_name);
        o.tax_category("cac:ClassifiedTaxCategory", l.tax_rate_bp);
        if !l.spec.is_empty() {
            o.property(SPEC_PROPERTY, &l.spec);
        }
        if !l.unit.is_empty() && code != l.unit.trim() {
            o.property(UNIT_PROPERTY, &l.unit);
        }
        o.close("cac:Item");
        o.open("cac:Price", &[]);
        o.leaf("cbc:PriceAmount", &[("currencyID", c)], &price);
        o.close("cac:Price");
        o.close("cac:InvoiceLine");
    }
    o.close("Invoice");
    if let Some(e) = o.err {
        return Err(UblError::Invalid { path: "document".into(), reason: format!("writing failed: {e}") });
    }
    String::from_utf8(o.w.into_inner().into_inner())
        .map_err(|e| UblError::Invalid { path: "document".into(), reason: e.to_string() })
}

/// Export a stored invoice with its lines.
pub fn invoice_to_ubl(inv: &invoice::Invoice, lines: &invoice::InvoiceLines) -> Result<String, UblError> {
    to_ubl_xml(&NewInvoice {
        number: inv.number.clone(),
        issue_date: inv.issue_date,
        currency: inv.currency.clone(),
        seller: inv.seller.clone(),
        buyer: inv.buyer.clone(),
        buyer_org: inv.buyer_org.clone(),
        lines: lines.lines.clone(),
        total_amount: inv.total_amount,
        total_tax: inv.total_tax,
        total_with_tax: inv.total_with_tax,
        remarks: inv.remarks.clone(),
        issuer: inv.issuer.clone(),
        details: inv.details.clone(),
    })
}

#[cfg(test)]
mod tests;
