//! The clusters a fleet is made of: from `--cluster NAME=CONTEXT` (repeatable, contexts of one
//! kubeconfig) or from a file of them (`--clusters-file`), in a cluster typically a kubeconfig
//! per remote cluster mounted from a Secret. Each has a name (its history and its URLs are
//! keyed by it), a display name, and how to reach it. Every mistake in the file is named at
//! once, before anything starts.

use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;
use serde::Deserialize;

/// The longest fleet name: a DNS label, so it fits a URL segment, a Lease's name and a label.
const MAX_NAME: usize = 63;

/// One cluster of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEntry {
    pub name: String,
    pub display_name: String,
    pub reach: Reach,
}

impl ClusterEntry {
    /// How to connect to it.
    pub fn source(&self) -> crate::cluster::Source {
        match &self.reach {
            Reach::Kubeconfig { path, context } => {
                crate::cluster::Source::Kubeconfig { path: path.clone(), context: context.clone() }
            }
            Reach::InCluster => crate::cluster::Source::Infer,
        }
    }
}

/// How a cluster is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// A context of a kubeconfig file (`None`: the file's current context).
    Kubeconfig { path: PathBuf, context: Option<String> },
    /// The cluster Paydeck runs in, with its pod's service account.
    InCluster,
}

/// The file's shape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    clusters: Vec<EntryShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EntryShape {
    name: String,
    display_name: Option<String>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    #[serde(default)]
    in_cluster: bool,
}

/// Why the clusters cannot be used: every problem found, each naming its cluster.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{source_name}: {}", .problems.join("; "))]
pub struct ClustersError {
    /// The file (or the flags) the problems are in.
    pub source_name: String,
    pub problems: Vec<String>,
}

/// Checks a fleet name: a DNS label.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a cluster name: lowercase letters, digits and '-', 1 to {MAX_NAME}, starting and ending with a letter or digit"
        ))
    }
}

/// `NAME=CONTEXT`, as `--cluster` takes it.
pub fn parse_flag(text: &str) -> Result<(String, String), String> {
    let (name, context) =
        text.split_once('=').ok_or_else(|| format!("expected NAME=CONTEXT (or `sim`), got {text:?}"))?;
    check_name(name)?;
    if context.is_empty() {
        return Err(format!("{name}: the kubeconfig context is empty"));
    }
    Ok((name.to_string(), context.to_string()))
}

/// The clusters `--cluster NAME=CONTEXT` names, all in the kubeconfig at `kubeconfig`.
pub fn from_flags(named: &[(String, String)], kubeconfig: &Path) -> Result<Vec<ClusterEntry>, ClustersError> {
    let entries = named
        .iter()
        .map(|(name, context)| ClusterEntry {
            name: name.clone(),
            display_name: name.clone(),
            reach: Reach::Kubeconfig { path: kubeconfig.to_path_buf(), context: Some(context.clone()) },
        })
        .collect::<Vec<_>>();
    let problems = check(&entries);
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(ClustersError { source_name: "--cluster".into(), problems })
    }
}

/// Reads and checks the file of clusters at `path`; relative kubeconfig paths are relative to
/// the file's folder.
pub fn read(path: &Path) -> Result<Vec<ClusterEntry>, ClustersError> {
    let fail = |problems: Vec<String>| ClustersError { source_name: path.display().to_string(), problems };
    let text = std::fs::read_to_string(path).map_err(|e| fail(vec![format!("cannot read it: {e}")]))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    let entries = parse(&text, folder).map_err(fail)?;
    let problems = check(&entries);
    if problems.is_empty() { Ok(entries) } else { Err(fail(problems)) }
}

/// The entries of a file's text, or what is wrong with its shape and fields.
fn parse(text: &str, folder: &Path) -> Result<Vec<ClusterEntry>, Vec<String>> {
    let shape: FileShape =
        serde_saphyr::from_str(text).map_err(|e| vec![format!("not a file of clusters: {e}")])?;
    if shape.clusters.is_empty() {
        return Err(vec!["it lists no clusters".into()]);
    }
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for (i, e) in shape.clusters.into_iter().enumerate() {
        let at = format!("clusters[{i}] ({})", e.name);
        if let Err(p) = check_name(&e.name) {
            problems.push(format!("clusters[{i}]: {p}"));
        }
        let display_name = e.display_name.unwrap_or_else(|| e.name.clone());
        if display_name.trim().is_empty()
            || display_name.chars().count() > 100
            || display_name.chars().any(char::is_control)
        {
            problems.push(format!(
                "{at}: displayName must be 1 to 100 characters, none of them control characters"
            ));
        }
        let reach = match (e.kubeconfig, e.in_cluster) {
            (Some(path), false) => {
                let path = if path.is_relative() { folder.join(path) } else { path };
                Reach::Kubeconfig { path, context: e.context }
            }
            (None, true) if e.context.is_none() => Reach::InCluster,
            (None, true) => {
                problems.push(format!("{at}: a context belongs to a kubeconfig, not to inCluster"));
                continue;
            }
            (Some(_), true) => {
                problems.push(format!("{at}: either a kubeconfig or inCluster, not both"));
                continue;
            }
            (None, false) => {
                problems.push(format!(
                    "{at}: says neither how to reach it: give a kubeconfig or inCluster: true"
                ));
                continue;
            }
        };
        entries.push(ClusterEntry { name: e.name, display_name, reach });
    }
    if problems.is_empty() { Ok(entries) } else { Err(problems) }
}

/// What is wrong with a list of clusters as a whole and with each one's kubeconfig.
fn check(entries: &[ClusterEntry]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if entries[..i].iter().any(|other| other.name == e.name) {
            problems.push(format!("{}: named twice (history and URLs are keyed by the name)", e.name));
        }
    }
    if entries.iter().filter(|e| e.reach == Reach::InCluster).count() > 1 {
        problems.push("only one cluster can be the one Paydeck runs in (inCluster)".into());
    }
    for e in entries {
        let Reach::Kubeconfig { path, context } = &e.reach else { continue };
        let kubeconfig = match Kubeconfig::read_from(path) {
            Ok(k) => k,
            Err(err) => {
                problems.push(format!("{}: cannot use kubeconfig {}: {err}", e.name, path.display()));
                continue;
            }
        };
        let wanted = context.clone().or_else(|| kubeconfig.current_context.clone());
        match wanted {
            None => problems.push(format!(
                "{}: kubeconfig {} has no current context: name one (context:)",
                e.name,
                path.display()
            )),
            Some(c) if !kubeconfig.contexts.iter().any(|n| n.name == c) => problems.push(format!(
                "{}: kubeconfig {} has no context {c:?} (it has: {})",
                e.name,
                path.display(),
                kubeconfig.contexts.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")
            )),
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(dir: &Path, name: &str, contexts: &[&str]) -> PathBuf {
        let path = dir.join(name);
        let contexts: String =
            contexts.iter().map(|c| format!("- name: {c}\n  context: {{cluster: {c}, user: u}}\n")).collect();
        let clusters: String = ["a", "b", "c", "eu-prod", "us-prod"]
            .iter()
            .map(|c| format!("- name: {c}\n  cluster: {{server: 'https://127.0.0.1:1'}}\n"))
            .collect();
        std::fs::write(
            &path,
            format!("apiVersion: v1\nkind: Config\nclusters:\n{clusters}contexts:\n{contexts}users:\n- name: u\n  user: {{token: t}}\n"),
        )
        .unwrap();
        path
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("paydeck-clusters-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_of_clusters_reads_with_relative_kubeconfigs_and_defaults() {
        let dir = temp("good");
        kubeconfig(&dir, "eu.kubeconfig", &["eu-prod"]);
        let file = dir.join("clusters.yaml");
        std::fs::write(
            &file,
            "clusters:\n  - name: home\n    displayName: Home (PCI zone)\n    inCluster: true\n  - name: eu-prod\n    kubeconfig: eu.kubeconfig\n    context: eu-prod\n",
        )
        .unwrap();
        let entries = read(&file).unwrap();
        assert_eq!(
            entries[0],
            ClusterEntry {
                name: "home".into(),
                display_name: "Home (PCI zone)".into(),
                reach: Reach::InCluster
            }
        );
        assert_eq!(entries[1].display_name, "eu-prod", "the name when no display name is given");
        assert_eq!(
            entries[1].reach,
            Reach::Kubeconfig { path: dir.join("eu.kubeconfig"), context: Some("eu-prod".into()) }
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn every_mistake_in_the_file_is_named_at_once() {
        let dir = temp("bad");
        kubeconfig(&dir, "one.kubeconfig", &["a"]);
        let file = dir.join("clusters.yaml");
        std::fs::write(
            &file,
            "clusters:\n\
             - {name: a, kubeconfig: one.kubeconfig}\n\
             - {name: a, kubeconfig: one.kubeconfig, context: a}\n\
             - {name: Bad_Name, kubeconfig: one.kubeconfig}\n\
             - {name: c, kubeconfig: missing.kubeconfig}\n\
             - {name: d, kubeconfig: one.kubeconfig, context: nope}\n\
             - {name: e}\n\
             - {name: f, inCluster: true, kubeconfig: one.kubeconfig}\n",
        )
        .unwrap();
        let err = read(&file).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(&file.display().to_string()), "{text}");
        for expected in [
            "clusters[2]: \"Bad_Name\" is not a cluster name",
            "clusters[5] (e): says neither",
            "clusters[6] (f): either a kubeconfig or inCluster",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        // The shape first: with those fixed, the rest (names twice, files, contexts) is named.
        std::fs::write(
            &file,
            "clusters:\n\
             - {name: a, kubeconfig: one.kubeconfig}\n\
             - {name: a, kubeconfig: one.kubeconfig, context: a}\n\
             - {name: c, kubeconfig: missing.kubeconfig}\n\
             - {name: d, kubeconfig: one.kubeconfig, context: nope}\n",
        )
        .unwrap();
        let problems = read(&file).unwrap_err().problems;
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("a: named twice"), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("a: kubeconfig") && p.contains("no current context")));
        assert!(problems.iter().any(|p| p.starts_with("c: cannot use kubeconfig")));
        assert!(
            problems.iter().any(|p| p.starts_with("d:") && p.contains("no context \"nope\" (it has: a)"))
        );
        for bad in ["clusters: []\n", "clusters:\n - {name: a, kubeconfig: x, extra: 1}\n", "nonsense"] {
            std::fs::write(&file, bad).unwrap();
            assert!(!read(&file).unwrap_err().problems.is_empty(), "{bad}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn cluster_flags_name_a_context_each() {
        assert_eq!(
            parse_flag("eu-prod=arn:aws:eks:eu:1:cluster/prod").unwrap().1,
            "arn:aws:eks:eu:1:cluster/prod"
        );
        for bad in ["eu-prod", "EU=ctx", "eu=", "=ctx"] {
            assert!(parse_flag(bad).is_err(), "{bad}");
        }
        let dir = temp("flags");
        let path = kubeconfig(&dir, "k", &["a", "b"]);
        let ok = from_flags(&[("a".into(), "a".into()), ("b".into(), "b".into())], &path).unwrap();
        assert_eq!(ok.len(), 2);
        let err = from_flags(&[("a".into(), "a".into()), ("a".into(), "zz".into())], &path).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
