//! The docs a newcomer reads: docs/configuration.md is generated from the binary's own flags
//! and must be current (`make docs` writes it again), every link in the README and the docs
//! resolves — files, and the headings or anchors a link names — each doc says which version
//! it describes, and the README stays short.

use std::{collections::BTreeSet, path::Path};

use clap::CommandFactory;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A table cell: one line, no column breaks.
fn cell(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

/// One table of a command's flags: the flag with its value, its environment variable, its
/// default and what it means, all as the command line itself defines them.
fn flags_table(command: &clap::Command) -> String {
    let mut out = String::from("| flag | environment | default | meaning |\n| --- | --- | --- | --- |\n");
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let mut flag = format!("--{long}");
        if arg.get_action().takes_values() {
            let values: Vec<String> =
                arg.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
            let value = if values.is_empty() {
                arg.get_value_names()
                    .map(|n| n.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" "))
                    .unwrap_or_default()
            } else {
                values.join("|")
            };
            flag = format!("{flag} {value}");
        }
        let env = arg.get_env().map(|e| format!("`{}`", e.to_string_lossy())).unwrap_or_else(|| "—".into());
        let defaults: Vec<String> =
            arg.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
        let default =
            if defaults.is_empty() { "—".to_string() } else { format!("`{}`", defaults.join(",")) };
        let help = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
        out.push_str(&format!("| `{}` | {env} | {} | {} |\n", cell(&flag), cell(&default), cell(&help)));
    }
    out
}

/// docs/configuration.md as the flags define it.
fn configuration_md() -> String {
    let command = paydeck::config::Config::command();
    let mut out = format!(
        "# Configuration\n\n*This describes Paydeck {}.*\n\n\
         Every setting is a flag of `paydeck` and an environment variable (the flag wins); in a\n\
         cluster they come from the ConfigMap the chart or the overlays render\n\
         ([deploying.md](deploying.md)). This file is generated from the binary's own\n\
         definitions (`make docs`); a test fails when it is not current. The `--sim-*` flags\n\
         run the built-in simulated cluster and exist only in builds with it (not in the image).\n\n\
         ## `paydeck`\n\n{}\n",
        env!("CARGO_PKG_VERSION"),
        command.get_about().map(|a| a.to_string()).unwrap_or_default()
    );
    out.push('\n');
    out.push_str(&flags_table(&command));
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let about = sub.get_long_about().or(sub.get_about()).map(|a| a.to_string()).unwrap_or_default();
        out.push_str(&format!("\n## `paydeck {}`\n\n{}\n\n", sub.get_name(), about.trim()));
        out.push_str(&flags_table(sub));
    }
    out
}

#[test]
fn configuration_md_is_generated_from_the_flags() {
    let path = format!("{ROOT}/docs/configuration.md");
    let generated = configuration_md();
    if std::env::var_os("PAYDECK_WRITE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(written == generated, "docs/configuration.md is not what the flags define: run `make docs`");
    // Every environment variable the manifests set is documented there.
    for rendering in ["base", "overlays/auth-proxy", "chart", "chart:fleet", "chart:auth-proxy"] {
        for object in super::manifests::render(rendering) {
            if object["kind"] != "ConfigMap" || object["metadata"]["name"] != "paydeck" {
                continue;
            }
            for key in object["data"].as_object().unwrap().keys() {
                assert!(
                    written.contains(&format!("`{key}`")),
                    "{rendering}: {key} is not in docs/configuration.md"
                );
            }
        }
    }
}

/// The README, its Chinese version and every doc under docs/.
fn docs() -> Vec<std::path::PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md"), Path::new(ROOT).join("README.zh-CN.md")];
    let mut under: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    under.sort();
    files.extend(under);
    files
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a Markdown file offers: its headings' and its `<a id="…">`s.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with('#') {
            out.insert(slug(line.trim_start_matches('#').replace('`', "").as_str()));
        }
        for piece in line.split("<a id=\"").skip(1) {
            out.insert(piece.split('"').next().unwrap().to_string());
        }
    }
    out
}

/// Every `[text](target)` outside code: its target.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Inline code may hold brackets that are not links.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join("");
        for piece in prose.split("](").skip(1) {
            if let Some(end) = piece.find(')') {
                out.push(piece[..end].to_string());
            }
        }
    }
    out
}

#[test]
fn every_link_in_the_docs_resolves() {
    let mut checked = 0;
    for file in docs() {
        let text = std::fs::read_to_string(&file).unwrap();
        let dir = file.parent().unwrap();
        for target in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if path.is_empty() { file.clone() } else { dir.join(path) };
            assert!(linked.exists(), "{}: the link {target} names no file", file.display());
            if !anchor.is_empty() {
                let linked_text = std::fs::read_to_string(&linked).unwrap();
                assert!(
                    anchors(&linked_text).contains(anchor),
                    "{}: the link {target} names no heading or anchor in {}",
                    file.display(),
                    linked.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} links found: is the link reader broken?");
}

#[test]
fn each_doc_says_which_version_it_describes_and_the_readme_is_short() {
    let version = format!("Paydeck {}", env!("CARGO_PKG_VERSION"));
    for file in docs() {
        let text = std::fs::read_to_string(&file).unwrap();
        let head: String = text.lines().take(15).collect::<Vec<_>>().join("\n");
        assert!(head.contains(&version), "{} does not say it describes {version}", file.display());
    }
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    assert!(
        readme.lines().count() <= 250,
        "the README has {} lines: move detail to docs/",
        readme.lines().count()
    );
    assert!(readme.contains("](README.zh-CN.md)"), "the README links its Chinese version");
    // Every doc is reachable from the README.
    for file in docs().iter().skip(2) {
        let name = format!("docs/{}", file.file_name().unwrap().to_string_lossy());
        assert!(readme.contains(&format!("]({name}")), "the README does not link {name}");
    }
}

#[test]
fn the_link_reader_sees_links_and_anchors_as_a_reader_does() {
    assert_eq!(slug("The edit's precondition"), "the-edits-precondition");
    assert_eq!(slug("Fleet scale: how the targets were met"), "fleet-scale-how-the-targets-were-met");
    assert_eq!(links("see [a](b.md#c) and `[x](y)`, ![i](img.png)"), vec!["b.md#c", "img.png"]);
    assert!(anchors("## `paydeck verify-audit`\n").contains("paydeck-verify-audit"));
    assert!(anchors("| <a id=\"pd101\"></a>PD101 |").contains("pd101"));
}
