//! 国密 TLS 1.3 (RFC 8998) for member-to-member links.
#![forbid(unsafe_code)]
