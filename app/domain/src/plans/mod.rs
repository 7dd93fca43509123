//! Scheduled scaling plans: an HPA's minimum (and maximum) raised over windows of local time —
//! daily, on weekdays or once, less exclusions — proposed from the recurring peaks of recorded
//! demand, carried out at each window's start and undone at its end. Pure: the time zone
//! database is bundled (the server's image has none of its own), nothing here reads a clock.

pub mod backtest;
pub mod lifecycle;
pub mod peaks;
pub mod propose;
pub mod report;
pub mod schedule;
pub mod steps;
