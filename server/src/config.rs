//! Command-line flags and their environment variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;

/// Paydeck: govern the scaling of payment services on Kubernetes.
#[derive(Debug, Clone, Parser)]
#[command(name = "paydeck", version, about)]
pub struct Config {
    /// Address and port to serve the UI and API on.
    #[arg(long, env = "PAYDECK_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Folder holding the built site (pkg/, assets/, favicon). Defaults to `site/` beside the
    /// binary or its parent folder (as cargo-leptos lays it out), else `target/site`.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "PAYDECK_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,

    /// Log filter, e.g. `info` or `info,paydeck=debug,tower_http=debug`.
    #[arg(long, env = "PAYDECK_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_on_loopback_port_3000() {
        let c = Config::try_parse_from(["paydeck"]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(c.request_timeout(), Duration::from_secs(30));
    }

    #[test]
    fn a_bad_listen_address_is_refused_with_its_flag_named() {
        let err = Config::try_parse_from(["paydeck", "--listen", "localhost"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
    }

    #[test]
    fn a_zero_timeout_is_refused() {
        assert!(Config::try_parse_from(["paydeck", "--request-timeout", "0"]).is_err());
    }
}
