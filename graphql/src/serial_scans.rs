//! Consumer scans of serialised items (`/01/{gtin}/21/{serial}`), and the copied-label heuristic.
//!
//! Scans are anonymous and untrusted, so they never go on chain: they are the API's own data in the read
//! model (`serial_scans`, `serial_scan_totals`), like users and sessions. Only serials the chain knows
//! (an anchored event names the SGTIN) are recorded, so a made-up code cannot grow storage; per serial
//! the [`MAX_KEPT`] most recent scans are kept, and a running total counts all of them. A location is
//! what the browser's geolocation gave when the consumer allowed it, coarsened to a grid of 0.01° (about
//! 1.1 km north–south) before it is stored — the API never keeps a precise position; without consent a
//! scan has no location.
//!
//! The heuristic ([`assess`], thresholds documented in docs/provenance.md §Serial pages):
//! - **impossible travel**: two consecutive located scans more than [`MIN_DISTANCE_KM`] apart whose
//!   implied speed exceeds [`MAX_SPEED_KMH`] (faster than an airliner, door to door) — one physical label
//!   cannot be in both places, so at least one is a copy;
//! - **too many scans**: more than [`MAX_PLAUSIBLE_SCANS`] scans in total (a consumer unit is scanned a
//!   handful of times; a copied label is scanned by every buyer of the copies);
//! - **spread**: located scans in more than [`MAX_PLACES`] places at least [`MIN_DISTANCE_KM`] apart.
//!
//! Repeated scans from the same client address in the same grid cell within [`REPEAT_WINDOW_MS`] count
//! once (reloading the page is not a new scan).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};

use crate::db::entities::{serial_scan, serial_scan_total};
use crate::error::{ApiError, ApiResult};

/// Scans kept per serial (older ones are deleted; the total still counts them).
pub const MAX_KEPT: u64 = 50;
/// Located scans closer than this are "the same place" (twice the grid plus a town's width).
pub const MIN_DISTANCE_KM: f64 = 50.0;
/// Faster than this between two located scans is impossible travel.
pub const MAX_SPEED_KMH: f64 = 900.0;
/// More scans than this is implausible for one consumer unit.
pub const MAX_PLAUSIBLE_SCANS: i64 = 20;
/// More distinct places (≥ MIN_DISTANCE_KM apart) than this is implausible.
pub const MAX_PLACES: usize = 3;
/// Repeats from one address and cell within this window count once.
pub const REPEAT_WINDOW_MS: i64 = 10 * 60_000;
/// Grid of stored positions: hundredths of a degree.
const GRID_PER_DEGREE: f64 = 100.0;
/// Client (address, serial, cell) seen recently; cleared when it grows past this.
const MAX_RECENT: usize = 10_000;

/// A position coarsened to the storage grid (hundredths of a degree).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    pub lat_e2: i32,
    pub lon_e2: i32,
}

impl Cell {
    /// Coarsen a browser position; refuses what is not a position on Earth.
    pub fn from_degrees(lat: f64, lon: f64) -> ApiResult<Cell> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(ApiError::bad_input("location.latitude", "must be between -90 and 90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(ApiError::bad_input("location.longitude", "must be between -180 and 180"));
        }
        Ok(Cell { lat_e2: (lat * GRID_PER_DEGREE).round() as i32, lon_e2: (lon * GRID_PER_DEGREE).round() as i32 })
    }

    pub fn latitude(&self) -> f64 {
        f64::from(self.lat_e2) / GRID_PER_DEGREE
    }

    pub fn longitude(&self) -> f64 {
        f64::from(self.lon_e2) / GRID_PER_DEGREE
    }

    /// Great-circle distance (haversine, mean Earth radius), km.
    pub fn distance_km(&self, other: &Cell) -> f64 {
        const R: f64 = 6371.0;
        let (p1, p2) = (self.latitude().to_radians(), other.latitude().to_radians());
        let dp = p2 - p1;
        let dl = (other.longitude() - self.longitude()).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().min(1.0).asin()
    }
}

/// One recorded scan.
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    pub time_ms: i64,
    pub cell: Option<Cell>,
}

/// Why a serial looks copied.
#[derive(Clone, Debug, PartialEq)]
pub enum CopySign {
    /// Two consecutive located scans `distance_km` apart within `minutes`.
    ImpossibleTravel { distance_km: f64, minutes: f64, earlier_ms: i64, later_ms: i64 },
    /// `count` scans in total.
    TooManyScans { count: i64 },
    /// Located scans in `places` distinct places.
    Spread { places: usize },
}

/// The copied-label heuristic over the kept scans (oldest first) and the running total.
pub fn assess(scans: &[Scan], total: i64) -> Vec<CopySign> {
    let mut out = Vec::new();
    let located: Vec<(i64, Cell)> = scans.iter().filter_map(|s| s.cell.map(|c| (s.time_ms, c))).collect();
    // The worst consecutive pair (highest implied speed) above the thresholds.
    let mut worst: Option<(f64, CopySign)> = None;
    for w in located.windows(2) {
        let ((t1, c1), (t2, c2)) = (w[0], w[1]);
        let d = c1.distance_km(&c2);
        if d <= MIN_DISTANCE_KM {
            continue;
        }
        let hours = (t2 - t1).max(0) as f64 / 3_600_000.0;
        let speed = if hours > 0.0 { d / hours } else { f64::INFINITY };
        if speed > MAX_SPEED_KMH && worst.as_ref().is_none_or(|(s, _)| speed > *s) {
            let sign =
                CopySign::ImpossibleTravel { distance_km: d, minutes: hours * 60.0, earlier_ms: t1, later_ms: t2 };
            worst = Some((speed, sign));
        }
    }
    if let Some((_, s)) = worst {
        out.push(s);
    }
    if total > MAX_PLAUSIBLE_SCANS {
        out.push(CopySign::TooManyScans { count: total });
    }
    let mut places: Vec<Cell> = Vec::new();
    for (_, c) in &located {
        if places.iter().all(|p| p.distance_km(c) > MIN_DISTANCE_KM) {
            places.push(*c);
        }
    }
    if places.len() > MAX_PLACES {
        out.push(CopySign::Spread { places: places.len() });
    }
    out
}

/// Who scanned what where: (client address, serial key, grid cell).
type ScanSource = (Option<IpAddr>, String, Option<Cell>);

/// Recent (address, serial, cell) scans, so a reload is not counted again.
#[derive(Default)]
pub struct RecentScans(Mutex<HashMap<ScanSource, i64>>);

impl RecentScans {
    /// True if this is a repeat within [`REPEAT_WINDOW_MS`]; remembers it otherwise.
    pub fn is_repeat(&self, addr: Option<IpAddr>, serial_key: &str, cell: Option<Cell>, now_ms: i64) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = (addr, serial_key.to_string(), cell);
        if map.get(&key).is_some_and(|t| now_ms - *t < REPEAT_WINDOW_MS) {
            return true;
        }
        if map.len() >= MAX_RECENT {
            map.retain(|_, t| now_ms - *t < REPEAT_WINDOW_MS);
            if map.len() >= MAX_RECENT {
                map.clear();
            }
        }
        map.insert(key, now_ms);
        false
    }
}

/// Record a scan of `serial_key` (the SGTIN's canonical Digital Link), keep at most [`MAX_KEPT`].
pub async fn record(db: &DatabaseConnection, serial_key: &str, scan: &Scan) -> ApiResult<()> {
    let txn = db.begin().await?;
    serial_scan::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        serial_key: Set(serial_key.to_string()),
        time_ms: Set(scan.time_ms),
        lat_e2: Set(scan.cell.map(|c| c.lat_e2)),
        lon_e2: Set(scan.cell.map(|c| c.lon_e2)),
    }
    .insert(&txn)
    .await?;
    match serial_scan_total::Entity::find_by_id(serial_key.to_string()).one(&txn).await? {
        Some(t) => {
            let mut a: serial_scan_total::ActiveModel = t.clone().into();
            a.total = Set(t.total.saturating_add(1));
            a.update(&txn).await?;
        }
        None => {
            serial_scan_total::ActiveModel {
                serial_key: Set(serial_key.to_string()),
                total: Set(1),
                first_ms: Set(scan.time_ms),
            }
            .insert(&txn)
            .await?;
        }
    }
    // Keep the newest MAX_KEPT rows of this serial (trimmed at every insert, so at most one more is
    // read here; SQLite has no OFFSET without LIMIT).
    let old: Vec<i64> = serial_scan::Entity::find()
        .filter(serial_scan::Column::SerialKey.eq(serial_key))
        .order_by_desc(serial_scan::Column::Id)
        .all(&txn)
        .await?
        .into_iter()
        .skip(usize::try_from(MAX_KEPT).unwrap_or(usize::MAX))
        .map(|r| r.id)
        .collect();
    if !old.is_empty() {
        serial_scan::Entity::delete_many().filter(serial_scan::Column::Id.is_in(old)).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The kept scans of a serial (oldest first), its total and its first scan time.
pub async fn load(db: &impl ConnectionTrait, serial_key: &str) -> ApiResult<(Vec<Scan>, i64, Option<i64>)> {
    let rows = serial_scan::Entity::find()
        .filter(serial_scan::Column::SerialKey.eq(serial_key))
        .order_by_asc(serial_scan::Column::TimeMs)
        .order_by_asc(serial_scan::Column::Id)
        .all(db)
        .await?;
    let total = serial_scan_total::Entity::find_by_id(serial_key.to_string()).one(db).await?;
    let scans = rows
        .into_iter()
        .map(|r| Scan {
            time_ms: r.time_ms,
            cell: match (r.lat_e2, r.lon_e2) {
                (Some(lat_e2), Some(lon_e2)) => Some(Cell { lat_e2, lon_e2 }),
                _ => None,
            },
        })
        .collect();
    Ok((scans, total.as_ref().map(|t| t.total).unwrap_or(0), total.map(|t| t.first_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHANGHAI: (f64, f64) = (31.2304, 121.4737);
    const BEIJING: (f64, f64) = (39.9042, 116.4074);
    const MIN: i64 = 60_000;

    fn at(t_min: i64, p: Option<(f64, f64)>) -> Scan {
        Scan { time_ms: t_min * MIN, cell: p.map(|(a, b)| Cell::from_degrees(a, b).expect("cell")) }
    }

    #[test]
    fn positions_are_coarsened_to_about_a_kilometre() {
        let c = Cell::from_degrees(31.230_449, 121.473_701).expect("cell");
        assert_eq!(c, Cell { lat_e2: 3123, lon_e2: 12147 });
        assert!(Cell::from_degrees(91.0, 0.0).is_err());
        assert!(Cell::from_degrees(0.0, f64::NAN).is_err());
        let d =
            Cell::from_degrees(31.24, 121.47).expect("c").distance_km(&Cell::from_degrees(31.23, 121.47).expect("c"));
        assert!((d - 1.11).abs() < 0.01, "{d}");
        let sh_bj = Cell::from_degrees(SHANGHAI.0, SHANGHAI.1)
            .expect("c")
            .distance_km(&Cell::from_degrees(BEIJING.0, BEIJING.1).expect("c"));
        assert!((1060.0..1075.0).contains(&sh_bj), "{sh_bj}");
    }

    #[test]
    fn shanghai_then_beijing_within_minutes_is_impossible_travel() {
        let signs = assess(&[at(0, Some(SHANGHAI)), at(5, Some(BEIJING))], 2);
        assert!(
            matches!(signs.as_slice(), [CopySign::ImpossibleTravel { distance_km, minutes, .. }]
                if *distance_km > 1000.0 && (*minutes - 5.0).abs() < 1e-9),
            "{signs:?}"
        );
    }

    #[test]
    fn plausible_journeys_and_nearby_scans_raise_nothing() {
        // The same city, minutes apart (different cells).
        assert!(assess(&[at(0, Some(SHANGHAI)), at(1, Some((31.30, 121.50)))], 2).is_empty());
        // Shanghai → Beijing in a day is a train ride.
        assert!(assess(&[at(0, Some(SHANGHAI)), at(24 * 60, Some(BEIJING))], 2).is_empty());
        // Unlocated scans say nothing about travel.
        assert!(assess(&[at(0, Some(SHANGHAI)), at(1, None), at(2, None)], 3).is_empty());
    }

    #[test]
    fn too_many_scans_and_too_many_places_are_flagged() {
        let signs = assess(&[at(0, None)], MAX_PLAUSIBLE_SCANS + 1);
        assert_eq!(signs, vec![CopySign::TooManyScans { count: MAX_PLAUSIBLE_SCANS + 1 }]);
        assert!(assess(&[at(0, None)], MAX_PLAUSIBLE_SCANS).is_empty());
        // Four cities, days apart each: no impossible travel, but four places.
        let cities = [SHANGHAI, BEIJING, (23.1291, 113.2644), (30.5728, 104.0668)];
        let scans: Vec<Scan> = cities.iter().enumerate().map(|(i, c)| at(i as i64 * 3 * 24 * 60, Some(*c))).collect();
        assert_eq!(assess(&scans, 4), vec![CopySign::Spread { places: 4 }]);
        assert!(assess(&scans[..3], 3).is_empty());
    }

    #[test]
    fn a_reload_from_the_same_place_counts_once() {
        let r = RecentScans::default();
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        let cell = Some(Cell { lat_e2: 1, lon_e2: 2 });
        assert!(!r.is_repeat(ip, "k", cell, 0));
        assert!(r.is_repeat(ip, "k", cell, MIN));
        assert!(!r.is_repeat(ip, "k", None, MIN), "another place is another scan");
        assert!(!r.is_repeat(ip, "k", cell, REPEAT_WINDOW_MS + 1));
    }
}
