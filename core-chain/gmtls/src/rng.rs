use rustls::crypto::{GetRandomFailed, SecureRandom};

/// Randomness for hello randoms and session tickets, from the operating system.
#[derive(Debug)]
pub(crate) struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        getrandom::fill(buf).map_err(|_| GetRandomFailed)
    }
}
