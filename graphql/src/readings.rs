//! The seam to the IoT ingestion store: sensor readings are not chain state (only their batch roots
//! are anchored), so the API asks whoever runs it for a device's readings over a time range. The
//! `scf` binary implements [`Readings`] over the ingestion service's store; without one, queries that
//! show readings return none.

/// One accepted reading of one measured quantity.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadingPoint {
    /// Device time of the reading, ms since the Unix epoch.
    pub time_ms: u64,
    /// What was measured, as the device sends it (`temperature`, `humidity`, `weight`, ...).
    pub reading_type: String,
    /// The value in `unit` (display only: rules work on the chain's fixed-point milli-units).
    pub value: f64,
    /// UCUM / UN/CEFACT unit code as sent (`Cel`, `%RH`, `kg`).
    pub unit: String,
}

/// Source of accepted sensor readings.
pub trait Readings: Send + Sync {
    /// Readings of `device_id` with `from_ms <= time_ms <= to_ms`, oldest first. The error is a
    /// message for the log; callers report it as an internal error.
    fn series(&self, device_id: &str, from_ms: u64, to_ms: u64) -> Result<Vec<ReadingPoint>, String>;
}
