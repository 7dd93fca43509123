//! Charts: option builders (pure, testable on the server) and the component that hands
//! them to ECharts in the browser.

mod echart;
mod frame;
mod palette;
pub mod plan;
pub mod platform;
pub mod whatif;
pub mod workload;

pub use echart::{ChartOption, EChart};
pub use palette::Palette;
