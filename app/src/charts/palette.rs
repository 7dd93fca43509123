//! The colours charts are drawn in, matched to the page's light or dark scheme.

/// Colours for chart chrome and series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Palette {
    pub text: &'static str,
    pub muted_text: &'static str,
    pub grid_line: &'static str,
    pub primary: &'static str,
    pub primary_fill: &'static str,
    pub secondary: &'static str,
    pub secondary_fill: &'static str,
    /// The HPA's min–max band.
    pub band_fill: &'static str,
    pub tertiary: &'static str,
    /// Limits, targets and maxima: the lines a series should stay under.
    pub warning: &'static str,
    /// Event markers.
    pub event: &'static str,
}

impl Palette {
    pub const LIGHT: Palette = Palette {
        text: "#1f2933",
        muted_text: "#52606d",
        grid_line: "#e4e7eb",
        primary: "#1d5fbf",
        primary_fill: "rgba(29, 95, 191, 0.12)",
        secondary: "#0f8a6a",
        secondary_fill: "rgba(15, 138, 106, 0.14)",
        band_fill: "rgba(194, 65, 12, 0.07)",
        tertiary: "#7b4fc9",
        warning: "#c2410c",
        event: "#8d6e00",
    };

    pub const DARK: Palette = Palette {
        text: "#e4e7eb",
        muted_text: "#9aa5b1",
        grid_line: "#323f4b",
        primary: "#6ea8ff",
        primary_fill: "rgba(110, 168, 255, 0.16)",
        secondary: "#3fd0a4",
        secondary_fill: "rgba(63, 208, 164, 0.14)",
        band_fill: "rgba(251, 146, 60, 0.08)",
        tertiary: "#b794f6",
        warning: "#fb923c",
        event: "#e3c15a",
    };

    /// The palette for the scheme the browser prefers (light on the server, where no chart
    /// is drawn).
    pub fn current() -> Palette {
        if prefers_dark() { Self::DARK } else { Self::LIGHT }
    }
}

#[cfg(feature = "hydrate")]
fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

#[cfg(not(feature = "hydrate"))]
fn prefers_dark() -> bool {
    false
}
