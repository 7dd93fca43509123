//! Where the built site (WASM, JS, CSS, ECharts, favicon) is, and the Leptos options to serve it.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use leptos::config::LeptosOptions;

/// The site folder: the one given, else `site/` beside the executable or beside its parent
/// (`target/release/paydeck` → `target/site`), else `target/site` under the working folder.
pub fn resolve_root(given: Option<&Path>, exe: Option<&Path>) -> PathBuf {
    if let Some(root) = given {
        return root.to_path_buf();
    }
    let beside = exe
        .and_then(Path::parent)
        .into_iter()
        .flat_map(|dir| [Some(dir.join("site")), dir.parent().map(|p| p.join("site"))].into_iter().flatten());
    beside
        .into_iter()
        .find(|candidate| candidate.join("pkg").is_dir())
        .unwrap_or_else(|| PathBuf::from("target/site"))
}

/// Leptos's options for serving `root` at `addr`.
pub fn leptos_options(root: &Path, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("paydeck")
        .site_root(root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// Why the site cannot be served, if a file the pages load is missing (a build step skipped).
pub fn check(root: &Path) -> Result<(), String> {
    let needed = ["pkg/paydeck.js", "pkg/paydeck.wasm", "pkg/paydeck.css", "assets/echarts.min.js"];
    let missing: Vec<_> = needed.iter().filter(|f| !root.join(f).is_file()).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the site folder {} lacks {:?}; build it with `make build` or point --site-root at a built site",
            root.display(),
            missing
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_root_wins() {
        let root = resolve_root(Some(Path::new("/srv/site")), Some(Path::new("/x/paydeck")));
        assert_eq!(root, PathBuf::from("/srv/site"));
    }

    #[test]
    fn the_site_beside_the_binary_is_found_before_its_parents() {
        let tmp = std::env::temp_dir().join(format!("paydeck-site-{}", std::process::id()));
        let bin_dir = tmp.join("release");
        std::fs::create_dir_all(bin_dir.join("site/pkg")).unwrap();
        std::fs::create_dir_all(tmp.join("site/pkg")).unwrap();
        let exe = bin_dir.join("paydeck");
        assert_eq!(resolve_root(None, Some(&exe)), bin_dir.join("site"));
        std::fs::remove_dir_all(bin_dir.join("site")).unwrap();
        assert_eq!(resolve_root(None, Some(&exe)), tmp.join("site"));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn without_a_built_site_the_cargo_leptos_folder_is_assumed() {
        let root = resolve_root(None, Some(Path::new("/nonexistent/bin/paydeck")));
        assert_eq!(root, PathBuf::from("target/site"));
    }

    #[test]
    fn a_missing_bundle_is_named() {
        let err = check(Path::new("/nonexistent")).unwrap_err();
        assert!(err.contains("pkg/paydeck.wasm"), "{err}");
    }
}
